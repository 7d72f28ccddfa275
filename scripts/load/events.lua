-- wrk script for scripts/load.sh: POST /v1/events with bodies built from the
-- reference event, every event with a fresh event id and an email from a pool of
-- buyers (the same scheme as scripts/load/loadgen). Settings come from the
-- environment: LOAD_EVENT (event.json), LOAD_BATCH (events per request; 1 sends a
-- bare event, more a JSON array), LOAD_USERS (distinct emails), LOAD_NONCE (8 hex
-- digits starting every event id, unique per phase).
-- A request counts as bad unless it is answered 200 with every event accepted.
-- done() prints one RESULT line in microseconds for the script to parse.

local batch = tonumber(os.getenv("LOAD_BATCH") or "1")
local users = tonumber(os.getenv("LOAD_USERS") or "10000")
local nonce = os.getenv("LOAD_NONCE") or "0000cafe"

local f = assert(io.open(assert(os.getenv("LOAD_EVENT"), "LOAD_EVENT is not set"), "rb"))
local ev = f:read("*a"):gsub("%s+$", "")
f:close()

local function span(key)
  local s, e = ev:find(key, 1, true)
  assert(s, "the reference event has no " .. key)
  local close = assert(ev:find('"', e + 1, true))
  return e + 1, close - 1
end
local ids, ide = span('"event_id":"')
local ems, eme = span('"email":"')
local head, mid, tail = ev:sub(1, ids - 1), ev:sub(ide + 1, ems - 1), ev:sub(eme + 1)
local nexthead = "," .. head

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local n = 0
bad = 0 -- global: done() reads it with thread:get
local parts = {}

local function event(k)
  n = n + 1
  local base = (k - 1) * 5
  parts[base + 1] = k == 1 and head or nexthead
  parts[base + 2] = string.format("%s-%04x-4000-8000-%012x", nonce, tid, n)
  parts[base + 3] = mid
  parts[base + 4] = "buyer" .. ((n * 65537 + tid + 4096) % users) .. "@example.com"
  parts[base + 5] = tail
end

function request()
  local body
  if batch == 1 then
    event(1)
    body = table.concat(parts, "", 1, 5)
  else
    for k = 1, batch do event(k) end
    body = "[" .. table.concat(parts, "", 1, 5 * batch) .. "]"
  end
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"rejected":0', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  io.write(string.format("RESULT requests=%d seconds=%.3f bad=%d failed=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d\n",
    summary.requests, summary.duration / 1e6, b,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
