-- require (and package) do not exist.
function match(record, params)
  local os = require('os')
  return os ~= nil
end
