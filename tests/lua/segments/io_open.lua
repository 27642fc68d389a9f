-- The io library is not opened: io is nil.
function match(record, params)
  local f = io.open('/etc/passwd')
  return f ~= nil
end
