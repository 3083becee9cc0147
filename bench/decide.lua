-- wrk script for POST /v1/projects/bench/experiences/decide: customers u-0 … in turn, with a context that varies.
-- Environment: AFFINITY_KEY (ingest key), CUSTOMERS.
local key = os.getenv("AFFINITY_KEY")
local customers = tonumber(os.getenv("CUSTOMERS") or "1000000")
local devices = { "mobile", "desktop", "tablet" }
local pages = { "home", "product", "cart", "search" }
local counter = 0

function request()
  counter = counter + 7919
  local body = string.format(
    '{"customer":"u-%d","context":{"device":"%s","page":"%s","country":"FR","cart_total":%d},"n":3}',
    counter % customers, devices[counter % 3 + 1], pages[counter % 4 + 1], counter % 200)
  return wrk.format("POST", "/v1/projects/bench/experiences/decide",
    { ["x-api-key"] = key, ["content-type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests/s %.0f p50 %.3f ms p99 %.3f ms errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
