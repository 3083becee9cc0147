-- wrk script for GET /v1/projects/bench/audiences/{AUDIENCE}/members/{customer}: customers u-0 … in turn.
-- Environment: AFFINITY_KEY (ingest key), AUDIENCE, CUSTOMERS.
local key = os.getenv("AFFINITY_KEY")
local audience = os.getenv("AUDIENCE")
local customers = tonumber(os.getenv("CUSTOMERS") or "1000000")
local counter = 0

function request()
  counter = counter + 7919
  local path = string.format("/v1/projects/bench/audiences/%s/members/u-%d", audience, counter % customers)
  return wrk.format("GET", path, { ["x-api-key"] = key })
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests/s %.0f p50 %.3f ms p99 %.3f ms errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
