-- wrk script: POSTs the body in $BENCH_BODY (with the Forge key in $BENCH_KEY, if any) and
-- prints one JSON line, prefixed "JSON ", with throughput, latency percentiles and errors.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.4f,"p99_ms":%.4f,"p999_ms":%.4f,' ..
    '"mean_ms":%.4f,"errors":%d,"errors_status":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    latency.mean / 1000, e.connect + e.read + e.write + e.timeout + e.status, e.status))
end
