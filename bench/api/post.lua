-- wrk script: POST /tasks with a fresh body each time (the token comes from the environment).
local token = os.getenv("TW_TOKEN")
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"chain":1764,"desc":"bench %d","target":{"action":"export",' ..
    '"export_index":"users","export_format":"csv"},"trigger":{"once":"2099-01-01T00:00:00Z"}}', n)
  return wrk.format("POST", "/tasks", { ["Authorization"] = "Bearer " .. token,
                                        ["Content-Type"] = "application/json" }, body)
end
