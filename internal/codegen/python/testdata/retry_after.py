"""Sends one event per Retry-After case (see codegentest.RetryAfterServer) to the
server named on the command line, each from its own client, and prints each
client's stats as JSON. Run by python_test.go."""

import json
import sys
from dataclasses import asdict

from events import AccordClient, Signup


def main(endpoint: str) -> None:
    cases = {"seconds": 5.0, "date": 5.0, "capped": 0.1}
    clients = {}
    for name, max_backoff in cases.items():
        client = AccordClient(
            endpoint, min_backoff=0.001, max_backoff=max_backoff, flush_interval=0.01, headers={"X-Accord-Case": name}
        )
        client.track_signup(Signup(shop_id="shop_1", email="a@example.com"))
        clients[name] = client
    for client in clients.values():
        if not client.close(timeout=30):
            raise SystemExit("close timed out")
    print(json.dumps({name: asdict(client.stats()) for name, client in clients.items()}))


if __name__ == "__main__":
    main(sys.argv[1])
