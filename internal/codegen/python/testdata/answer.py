"""Sends the signups given as a JSON array on the command line to the collector
named before them, in one request, then prints the client's stats and every drop
on_drop was told about as JSON (see codegentest.RunAnswers). Run by
python_test.go."""

import json
import sys
from dataclasses import asdict
from typing import Any, Dict, List

from events import AccordClient, Drop, Signup


def main(endpoint: str, signups: str) -> None:
    events: List[Dict[str, Any]] = json.loads(signups)
    drops: List[Dict[str, Any]] = []

    def on_drop(d: Drop) -> None:
        r = d.rejection
        drops.append(
            {
                "reason": d.reason,
                "schema": d.event["schema"],
                "data": d.event["data"],
                "rejection": None
                if r is None
                else {
                    "status": r.status,
                    "event_id": r.event_id or "",
                    "reason": r.reason or "",
                    "message": r.message or "",
                    "failures": [asdict(f) for f in r.failures],
                },
                "error": str(d.error),
            }
        )

    client = AccordClient(
        endpoint, batch_size=len(events), flush_interval=60, min_backoff=0.001, max_backoff=0.005, on_drop=on_drop
    )
    for e in events:
        client.track_signup(Signup(**e))
    if not client.close(timeout=30):
        raise SystemExit("close timed out")
    print(json.dumps({"stats": asdict(client.stats()), "drops": drops}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
