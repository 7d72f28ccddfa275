#!/usr/bin/env bash
# Load test of accord serve on the reference workload (ACCORD_BENCH_DIR, default
# ../shared/bench beside the repository), loopback only, in one run:
#
#   - events/s for single-event requests and for batches of 100, for accord serve
#     (embedded default: fsync'd disk buffer, lake, embedded vault) and for a bare
#     net/http server that only reads the body (scripts/load/bare), measured
#     alternately in the same run and quoted as ratios;
#   - p50/p99 latency at the maximum rate (wrk, fixed connections, closed loop) and
#     at half of it (scripts/load/loadgen, open loop, latency counted from when each
#     request was due), with the generator's own p99 against the bare server at the
#     same rate (the measurement's floor) and the p99 bucket of the time spent in
#     accord's handler and of the durable ack (its histograms);
#   - the hypervisor's steal during each phase (/proc/stat): on a shared host the
#     phases with steal are the ones whose tail the host set;
#   - peak RSS of the accord process (VmHWM) and the buffer backlog the lake loader
#     left behind after each phase;
#   - how many buffer segments were written ahead (buffer.prewrite).
#
# Every event has a fresh event id and one of LOAD_USERS buyer emails; before the
# measurements one event of every buyer is sent (warm-up), so the vault has every
# buyer's key, as a collector that has seen its buyers before. Each phase runs
# LOAD_SECONDS; after each accord phase the script waits (at most LOAD_DRAIN
# seconds) for the loaders to empty the buffer, so phases do not pay for each
# other's backlog. Everything lives in a temporary folder removed at the end.
#
#   scripts/load.sh                       # about 2.5 minutes
#   LOAD_SECONDS=5 LOAD_CONNS=128 scripts/load.sh
#
# Needs wrk (Debian package wrk; .ci/run installs it) and Go.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bench=${ACCORD_BENCH_DIR:-$top/../shared/bench}
secs=${LOAD_SECONDS:-10}
conns=${LOAD_CONNS:-64}
threads=${LOAD_THREADS:-2}
users=${LOAD_USERS:-10000}
drain=${LOAD_DRAIN:-60}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
[ -f "$bench/event.json" ] && [ -d "$bench/contracts" ] || {
  echo "no reference workload at $bench: set ACCORD_BENCH_DIR to shared/bench" >&2; exit 1; }
bench=$(cd "$bench" && pwd)

work=$(mktemp -d)
accord_pid= bare_pid=
cleanup() {
  for p in $accord_pid $bare_pid; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $accord_pid $bare_pid; do wait "$p" 2>/dev/null || true; done
  if [ -n "${LOAD_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "building accord, the bare server and the load generator"
go build -o "$work/accord" "$top/cmd/accord"
go build -o "$work/bare" "$top/scripts/load/bare"
go build -o "$work/loadgen" "$top/scripts/load/loadgen"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { # url pid log
  for _ in $(seq 1 100); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { echo "the server exited; its log:" >&2; cat "$3" >&2; exit 1; }
    sleep 0.1
  done
  echo "the server did not answer $1" >&2; exit 1
}

"$work/bare" -addr 127.0.0.1:0 >"$work/bare.addr" 2>"$work/bare.log" &
bare_pid=$!
for _ in $(seq 1 50); do [ -s "$work/bare.addr" ] && break; sleep 0.1; done
bare_url="http://$(head -1 "$work/bare.addr")"

port=$(free_port)
accord_url="http://127.0.0.1:$port"
cat >"$work/accord.yaml" <<EOF
version: 1
registry: $bench/contracts
data: $work/data
server: {addr: "127.0.0.1:$port"}
log: {level: warn}
EOF
# gctrace: one line per GC in accord.log, from which each phase's GC CPU share is read.
GODEBUG=gctrace=1 "$work/accord" serve --config "$work/accord.yaml" 2>"$work/accord.log" &
accord_pid=$!
wait_up "$accord_url/healthz" "$accord_pid" "$work/accord.log"

# Sanity: a generated batch is accepted whole (a broken body would measure the
# rejection path).
answer=$("$work/loadgen" body -event "$bench/event.json" -batch 3 | curl -s -H 'Content-Type: application/json' --data-binary @- "$accord_url/v1/events")
echo "$answer" | grep -q '"accepted":3,"rejected":0' || { echo "a generated batch was not accepted: $answer" >&2; exit 1; }
echo "warming up: one event of each of $users buyers"
"$work/loadgen" warm -url "$accord_url/v1/events" -event "$bench/event.json" -users "$users" -nonce "$(printf '%08x' $((RANDOM * 32768 + RANDOM)))"

hwm() { awk '/^VmHWM/ {print int($2/1024)}' "/proc/$accord_pid/status"; }
backlog() { curl -fs "$accord_url/metrics" | awk '$1 == "accord_buffer_records" {printf "%d", $2}'; }
nonce() { printf '%08x' $((RANDOM * 32768 + RANDOM)); }
field() { sed -n "s/.*[ ]$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# run_wrk url batch: prints the RESULT line; fails on any bad answer.
run_wrk() {
  local out
  out=$(LOAD_EVENT="$bench/event.json" LOAD_BATCH="$2" LOAD_USERS="$users" LOAD_NONCE="$(nonce)" \
    wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s -s "$top/scripts/load/events.lua" "$1" 2>&1)
  grep -q '^RESULT' <<<"$out" || { echo "wrk failed: $out" >&2; exit 1; }
  grep '^RESULT' <<<"$out"
}

# wait_drain: seconds until the buffer backlog is empty (or ">N" after LOAD_DRAIN).
wait_drain() {
  local start=$SECONDS
  while [ "$(backlog)" != "0" ]; do
    if [ $((SECONDS - start)) -ge "$drain" ]; then echo ">$drain"; return; fi
    sleep 0.5
  done
  echo $((SECONDS - start))
}

# ticks: accord's CPU time so far (user + system), in clock ticks.
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$accord_pid/stat"; }
# cpu_per_event ticks0 events: accord's CPU since ticks0 in µs per event.
cpu_per_event() { awk -v t="$(( $(ticks) - $1 ))" -v hz="$hz" -v n="$2" 'BEGIN {if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-"}'; }
# gcs: GCs so far. gc_share gcs0 ticks0: the CPU of the GCs since gcs0 (gctrace's
# assist, background and stop-the-world marking; idle-time marking only takes
# cores nothing else wanted) as a share of accord's CPU since ticks0.
gcs() { grep -c '^gc ' "$work/accord.log" || true; }
gc_share() {
  tail -n +"$(( $1 + 1 ))" "$work/accord.log" | grep '^gc ' |
    sed -E 's/.*clock, ([0-9.]+)\+([0-9.]+)\/([0-9.]+)\/[0-9.]+\+([0-9.]+) ms cpu.*/\1 \2 \3 \4/' |
    awk -v t="$(( $(ticks) - $2 ))" -v hz="$hz" '{ms += $1 + $2 + $3 + $4} END {if (t > 0) printf "%.1f%%", ms / 10 / (t / hz); else print "-"}'
}

# hist PREFIX: the buckets ("le count" lines) of the histogram series whose
# bucket lines start with PREFIX (its name, "{", and the labels before le).
# handler_hist: the native protocol's request durations (time in accord's
# handler, from its start to the answer written: without net/http reading the
# request and the kernel's queues); ack_hist: the time to make a request's
# events durable (the group commit's wait and fsync).
hist() { curl -fs "$accord_url/metrics" | sed -n "s/^$1le=\"\([^\"]*\)\"} \([0-9.e+]*\)\$/\1 \2/p"; }
handler_hist() { hist 'accord_collector_request_duration_seconds_bucket{protocol="native",'; }
ack_hist() { hist 'accord_collector_ack_duration_seconds_bucket{'; }
# handler_p99 before after: the upper bound of the bucket that holds the p99 of
# the observations in between, in ms.
handler_p99() {
  awk 'NR == FNR {before[$1] = $2; next} {le[++n] = $1; c[n] = $2 - before[$1]}
    END {for (i = 1; i <= n; i++) if (c[i] >= 0.99 * c[n]) {
      if (le[i] == "+Inf") print "inf"; else printf "%g", le[i] * 1000; exit}}' <(echo "$1") <(echo "$2")
}

# stolen: the ticks the hypervisor gave the machine's CPUs to other guests so far
# (/proc/stat's steal). steal_pct ticks0 seconds: their share of all the cores'
# time since ticks0, over a phase of that many seconds. On a shared host this is
# what moves one run's latency tail against the next: a phase with a few percent
# of steal has its p99 set by the host, not by the server.
stolen() { awk '/^cpu / {print $9}' /proc/stat; }
steal_pct() { awk -v t="$(( $(stolen) - $1 ))" -v hz="$hz" -v s="$2" -v n="$(nproc)" 'BEGIN {printf "%.1f%%", 100 * t / hz / (s * n)}'; }

declare -A R
phase() { # key url batch
  echo "phase $1: $conns connections, ${secs}s" >&2
  local res t0 g0 st0
  t0=$(ticks) g0=$(gcs) st0=$(stolen)
  res=$(run_wrk "$2" "$3")
  R[$1.steal]=$(steal_pct "$st0" "$secs")
  local n s bad failed
  n=$(field requests "$res"); s=$(field seconds "$res"); bad=$(field bad "$res"); failed=$(field failed "$res")
  R[$1.eps]=$(awk -v n="$n" -v s="$s" -v b="$3" -v x="$bad" 'BEGIN {printf "%.0f", (n - x) * b / s}')
  R[$1.rps]=$(awk -v n="$n" -v s="$s" 'BEGIN {printf "%.1f", n / s}')
  R[$1.p50]=$(field p50_us "$res"); R[$1.p99]=$(field p99_us "$res")
  R[$1.bad]=$((bad + failed))
  if [ "$2" = "$accord_url" ]; then
    R[$1.backlog]=$(backlog)
    R[$1.drain]=$(wait_drain)
    R[$1.hwm]=$(hwm)
    R[$1.cpu]=$(cpu_per_event "$t0" "$(awk -v n="$n" -v x="$bad" -v b="$3" 'BEGIN {print (n - x) * b}')")
    R[$1.gc]=$(gc_share "$g0" "$t0")
  fi
}

phase bare.single "$bare_url" 1
phase accord.single "$accord_url" 1
phase bare.batch "$bare_url" 100
phase accord.batch "$accord_url" 100

# half rate: open loop at half of the maximum request rate just measured.
half() { # key batch
  local rps
  rps=$(awk -v r="${R[accord.$1.rps]}" 'BEGIN {printf "%.1f", r / 2}')
  echo "phase accord.$1 at half rate: $rps requests/s, open loop, $conns connections, ${secs}s" >&2
  local res t0 g0 h0 a0 floor st0
  # The generator's own floor: the same rate against the bare server.
  st0=$(stolen)
  floor=$("$work/loadgen" rate -url "$bare_url/v1/events" -event "$bench/event.json" -batch "$2" -users "$users" \
    -nonce "$(nonce)" -rate "$rps" -duration "${secs}s" -conns "$conns")
  R[half.$1.floor]=$(field p99_us "$floor") R[half.$1.floorsteal]=$(steal_pct "$st0" "$secs")
  t0=$(ticks) g0=$(gcs) h0=$(handler_hist) a0=$(ack_hist) st0=$(stolen)
  res=$("$work/loadgen" rate -url "$accord_url/v1/events" -event "$bench/event.json" -batch "$2" -users "$users" \
    -nonce "$(nonce)" -rate "$rps" -duration "${secs}s" -conns "$conns")
  R[half.$1.steal]=$(steal_pct "$st0" "$secs")
  R[half.$1.handler]=$(handler_p99 "$h0" "$(handler_hist)")
  R[half.$1.ack]=$(handler_p99 "$a0" "$(ack_hist)")
  R[half.$1.rps]=$rps
  R[half.$1.eps]=$(awk -v n="$(field requests "$res")" -v s="$(field seconds "$res")" -v b="$2" 'BEGIN {printf "%.0f", n * b / s}')
  R[half.$1.p50]=$(field p50_us "$res"); R[half.$1.p99]=$(field p99_us "$res")
  R[half.$1.bad]=$(( $(field bad "$res") + $(field failed "$res") ))
  R[half.$1.backlog]=$(backlog)
  R[half.$1.drain]=$(wait_drain)
  R[half.$1.hwm]=$(hwm)
  R[half.$1.cpu]=$(cpu_per_event "$t0" "$(awk -v n="$(field requests "$res")" -v x="${R[half.$1.bad]}" -v b="$2" 'BEGIN {print (n - x) * b}')")
  R[half.$1.gc]=$(gc_share "$g0" "$t0")
}
half single 1
half batch 100
# The buffer's segments started from space written ahead (buffer.prewrite), whose
# fsyncs write data only, and blanks that could not be written.
metric() { curl -fs "$accord_url/metrics" | awk -v m="$1" '$1 == m {printf "%d", $2}'; }
prewritten=$(metric accord_buffer_prewritten_segments_total) prewrite_failures=$(metric accord_buffer_prewrite_failures_total)

ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f%%", 100 * a / b}'; }
header() {
  printf '%-21s %9s %8s %7s %8s %5s %6s %8s %8s %10s %13s %7s' "" events/s "vs bare" "p50 ms" "p99 ms" bad steal backlog "drain s" "VmHWM MiB" "cpu µs/event" "gc cpu"
}
row() { # label key vs
  local k=$2
  printf '%-21s %9s %8s %7s %8s %5s %6s %8s %8s %10s %13s %7s' "$1" "${R[$k.eps]}" "$3" "$(ms "${R[$k.p50]}")" "$(ms "${R[$k.p99]}")" \
    "${R[$k.bad]}" "${R[$k.steal]}" "${R[$k.backlog]:-}" "${R[$k.drain]:-}" "${R[$k.hwm]:-}" "${R[$k.cpu]:-}" "${R[$k.gc]:-}"
}
cat <<EOF

accord serve vs bare net/http, one run, $(nproc) cores, wrk -t$threads -c$conns, ${secs}s per phase, $users buyers
(events/s: events of requests answered 200 with every event accepted)

$(header)
$(row "single, bare" bare.single -)
$(row "single, accord" accord.single "$(ratio "${R[accord.single.eps]}" "${R[bare.single.eps]}")")
$(row "single, accord, 1/2" half.single "")
$(row "batch100, bare" bare.batch -)
$(row "batch100, accord" accord.batch "$(ratio "${R[accord.batch.eps]}" "${R[bare.batch.eps]}")")
$(row "batch100, accord, 1/2" half.batch "")

half rate, p99 ms      accord   in the handler (bucket)   durable ack (bucket)   the generator against bare, same rate (steal)
single              $(printf '%9s %17s %21s %32s' "$(ms "${R[half.single.p99]}")" "<= ${R[half.single.handler]}" "<= ${R[half.single.ack]}" "$(ms "${R[half.single.floor]}") (${R[half.single.floorsteal]})")
batch100            $(printf '%9s %17s %21s %32s' "$(ms "${R[half.batch.p99]}")" "<= ${R[half.batch.handler]}" "<= ${R[half.batch.ack]}" "$(ms "${R[half.batch.floor]}") (${R[half.batch.floorsteal]})")

buffer: $prewritten segments written ahead, $prewrite_failures failures to write one
targets: single >= 85% of bare: $(ratio "${R[accord.single.eps]}" "${R[bare.single.eps]}"); batches of 100 >= 250000 events/s: ${R[accord.batch.eps]};
         p99 < 5 ms at half rate: single $(ms "${R[half.single.p99]}") ms, batch100 $(ms "${R[half.batch.p99]}") ms; peak RSS < 150 MB: $(hwm) MiB ($(awk -v m="$(hwm)" 'BEGIN {printf "%.0f", m * 1.048576}') MB)
(max-rate latency is wrk's, closed loop over $conns connections; half-rate latency is open loop at ${R[half.single.rps]} and ${R[half.batch.rps]} requests/s,
 counted from when each request was due, by scripts/load/loadgen on the same cores: its p99 against the bare server is
 the measurement's floor. steal: the share of the cores' time the hypervisor gave other guests during the phase
 (/proc/stat); a phase with more than a percent or two is the host's, not the server's.
 backlog: buffer records not yet delivered when the phase ended; drain: seconds to deliver them.
 cpu: accord's CPU time from the start of the phase until its backlog was delivered, per event accepted: what an event costs
 collector and loaders together; an undercount when the drain timed out. gc cpu: the GC's share of that CPU time,
 from GODEBUG=gctrace=1 (runtime.gc_percent trades it against the peak RSS).)
EOF
