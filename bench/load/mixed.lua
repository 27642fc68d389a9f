-- wrk script for bench/load: a mix of GET /tasks/{id} (70 %), GET /tasks?limit=20 (20 %) and
-- POST /tasks (10 %). Posted tasks are due now, so exports keep running during the test.
-- Non-2xx responses are counted per status and printed at the end.
local token = os.getenv("TW_TOKEN")
local path = os.getenv("TW_PATH")
local n = 0
local statuses = {}
local threads = {}

setup = function(thread)
  table.insert(threads, thread)
end

init = function()
  bad = {}
end

request = function()
  n = n + 1
  local k = n % 10
  local hdr = { ["Authorization"] = "Bearer " .. token }
  if k < 7 then
    return wrk.format("GET", path, hdr)
  elseif k < 9 then
    return wrk.format("GET", "/tasks?limit=20", hdr)
  end
  hdr["Content-Type"] = "application/json"
  local body = string.format('{"chain":1764,"desc":"load %d","target":{"action":"export",' ..
    '"export_index":"users","export_format":"csv"},"trigger":{"once":"2020-01-01T00:00:00Z"}}', n)
  return wrk.format("POST", "/tasks", hdr, body)
end

response = function(status, headers, body)
  if status >= 300 then
    bad[status] = (bad[status] or 0) + 1
  end
end

done = function(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local b = t:get("bad")
    for s, c in pairs(b or {}) do total[s] = (total[s] or 0) + c end
  end
  local any = false
  for s, c in pairs(total) do io.write(string.format("non-2xx %d: %d\n", s, c)); any = true end
  if not any then io.write("non-2xx: none\n") end
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, %d requests, %.0f req/s\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    summary.requests / (summary.duration / 1e6)))
end
