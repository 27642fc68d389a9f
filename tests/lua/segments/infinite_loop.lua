-- Spins forever: the instruction budget must end the call.
function match(record, params)
  while true do end
end
