-- Doubles a string and keeps every copy: the memory cap must end the call.
function match(record, params)
  local keep, s = {}, 'x'
  while true do
    s = s .. s
    keep[#keep + 1] = s
  end
end
