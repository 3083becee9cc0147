-- wrk script for POST /feedback. Every event is unique (thread id, request counter), so none is skipped as a
-- duplicate and every 200 counts acknowledged, stored events.
-- Environment: AFFINITY_KEY (ingest key), BATCH (events per request; 0 = the single-event form).
local key = os.getenv("AFFINITY_KEY")
local batch = tonumber(os.getenv("BATCH") or "0")
local run = os.getenv("RUN") or "r"
local counter = 0
local threads = {}
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

local function event(n)
  return string.format(
    '{"event":"purchase","item":"sku-%d","customer":"%s-%d-%d","date":%d,"quantity":1,"price":9.5}',
    n % 5000, run, tid, n % 100000, 1700000000000 + n)
end

function request()
  local body
  if batch == 0 then
    counter = counter + 1
    body = '{"project":"bench","data":' .. event(counter) .. '}'
  else
    local parts = {}
    for i = 1, batch do
      counter = counter + 1
      parts[i] = event(counter)
    end
    body = '{"project":"bench","data":[' .. table.concat(parts, ",") .. ']}'
  end
  return wrk.format("POST", "/feedback", {["content-type"] = "application/json", ["x-api-key"] = key}, body)
end

-- Counts the events the server says it stored ("status":"ok", or a batch report's "succeeded").
stored = 0
local non200 = 0
function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if non200 <= 3 then io.stderr:write("non-200: " .. status .. " " .. body .. "\n") end
  elseif batch == 0 then
    if string.find(body, '"status":"ok"', 1, true) then stored = stored + 1 end
  else
    stored = stored + tonumber(string.match(body, '"succeeded":(%d+)') or "0")
  end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("stored") end
  io.write(string.format("RESULT requests=%d events_per_request=%d stored_events=%d seconds=%.2f stored_events_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, math.max(batch, 1), total, secs, total / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
