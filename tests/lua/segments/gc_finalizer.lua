-- A finalizer runs with hooks off, where no budget reaches: refused at setmetatable.
function match(record, params)
  setmetatable({}, { __gc = function() while true do end end })
  return true
end
