#!/usr/bin/env bash
# End-to-end smoke test of the accord binary on the embedded default: build it,
# lint the bundled contracts, start `accord serve` on a free loopback port in an
# empty temporary folder (so with the example contracts the binary carries), send the example event it prints and a bad one, check the
# answers, health and metrics, and stop it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
pid=
go build -o "$work/accord" "$top/cmd/accord"
"$work/accord" version
"$work/accord" lint --registry "$top/examples/contracts"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cd "$work"
# No --registry and no ./contracts here: the binary unpacks the example
# contracts it carries (under XDG_CACHE_HOME), as an installed accord does.
XDG_CACHE_HOME="$work/cache" ./accord serve --addr "127.0.0.1:$port" --data "$work/data" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
grep -q "using the bundled example contracts, unpacked to $work/cache/accord/" "$work/serve.log" \
  || { echo "serve did not use the contracts the binary carries:"; cat "$work/serve.log"; exit 1; }
cmd=$(grep -m1 'curl -s' "$work/serve.log" | sed 's/^ *//')
ok=$(eval "$cmd")
echo "$ok" | grep -q '"accepted":1' || { echo "example event not accepted: $ok"; exit 1; }
bad=$(curl -s "http://127.0.0.1:$port/v1/events" -d '{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"x"}}')
echo "$bad" | grep -q '"reason":"schema_violation"' || { echo "bad event not rejected: $bad"; exit 1; }
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null
# The metrics go to a file first: `curl | grep -q` fails under pipefail when grep
# stops reading before curl has written everything (curl exits 23).
curl -fs "http://127.0.0.1:$port/metrics" >"$work/metrics.txt"
grep -Eq '^accord_collector_events_total\{[^}]*outcome="accepted"[^}]*\} 1$' "$work/metrics.txt" \
  || { echo "metrics do not count the accepted event:"; grep accord_collector_events_total "$work/metrics.txt"; exit 1; }
grep -Eq '^accord_collector_events_total\{[^}]*outcome="rejected"[^}]*reason="schema_violation"[^}]*\} 1$' "$work/metrics.txt" \
  || { echo "metrics do not count the rejected event:"; grep accord_collector_events_total "$work/metrics.txt"; exit 1; }
curl -fs "http://127.0.0.1:$port/v1/contracts" >/dev/null
kill -TERM "$pid"; wait "$pid"; pid=
echo "smoke: ok"
