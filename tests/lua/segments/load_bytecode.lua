-- Neither string.dump nor load exists: no way to make or run bytecode.
function match(record, params)
  local f = load(string.dump(function() return true end), 'x', 'b')
  return f()
end
