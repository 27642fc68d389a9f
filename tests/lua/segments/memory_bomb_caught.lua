-- Catches the out-of-memory error and claims success: the call must fail anyway.
function match(record, params)
  pcall(function()
    local keep = {}
    while true do
      keep[#keep + 1] = string.rep('y', 65536)
    end
  end)
  return true
end
