-- wrk script for GET /v1/projects/bench/recommendations/users/{customer}?n=10: customers drawn in turn from
-- CUSTOMERS ids "u1m_1" … (MovieLens-1M's), so every request scores a real history.
-- Environment: AFFINITY_KEY (ingest key), CUSTOMERS (how many), PREFIX (customer id prefix).
local key = os.getenv("AFFINITY_KEY")
local customers = tonumber(os.getenv("CUSTOMERS") or "6040")
local prefix = os.getenv("PREFIX") or "u1m_"
local counter = 0

function request()
  counter = counter + 1
  local path = string.format("/v1/projects/bench/recommendations/users/%s%d?n=10", prefix, counter % customers + 1)
  return wrk.format("GET", path, { ["x-api-key"] = key })
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests/s %.0f p50 %.2f ms p99 %.2f ms errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
