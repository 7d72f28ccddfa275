// Sends the signups given as a JSON array on the command line to the collector
// named before them, in one request, then prints the client's stats and every
// drop onDrop was told about as JSON (see codegentest.RunAnswers). Run by
// typescript_test.go.
import { AccordClient, type Drop, type Signup } from "./events";

declare const process: { argv: string[]; exitCode?: number };

async function main(endpoint: string, signups: string): Promise<void> {
  const events: Signup[] = JSON.parse(signups);
  const drops: unknown[] = [];
  const onDrop = (d: Drop): void => {
    const r = d.rejection;
    drops.push({
      reason: d.reason,
      schema: d.event.schema,
      data: d.event.data,
      rejection: r === undefined ? null : { status: r.status, event_id: r.eventId ?? "", reason: r.reason ?? "", message: r.message ?? "", failures: r.failures },
      error: d.error.message,
    });
  };
  const client = new AccordClient({ endpoint, batchSize: events.length, flushIntervalMs: 60000, minBackoffMs: 1, maxBackoffMs: 5, onDrop });
  for (const e of events) {
    client.trackSignup(e);
  }
  await client.close();
  console.log(JSON.stringify({ stats: client.stats(), drops }));
}

main(process.argv[2], process.argv[3]).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
