-- wrk script: GET one task with a privileged token (path and token from the environment).
local token = os.getenv("TW_TOKEN")
local path = os.getenv("TW_PATH")
request = function()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
