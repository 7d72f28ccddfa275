// Sends one event per Retry-After case (see codegentest.RetryAfterServer) to the
// server named on the command line, each from its own client, and prints each
// client's stats as JSON. Run by typescript_test.go.
import { AccordClient, type Stats } from "./events";

declare const process: { argv: string[]; exitCode?: number };

async function main(endpoint: string): Promise<void> {
  const cases = { seconds: 5000, date: 5000, capped: 100 };
  const clients = Object.entries(cases).map(([name, maxBackoffMs]) => {
    const client = new AccordClient({ endpoint, minBackoffMs: 1, maxBackoffMs, flushIntervalMs: 10, headers: { "X-Accord-Case": name } });
    client.trackSignup({ shop_id: "shop_1", email: "a@example.com" });
    return [name, client] as const;
  });
  await Promise.all(clients.map(([, client]) => client.close()));
  const stats: Record<string, Stats> = {};
  for (const [name, client] of clients) {
    stats[name] = client.stats();
  }
  console.log(JSON.stringify(stats));
}

main(process.argv[2]).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
