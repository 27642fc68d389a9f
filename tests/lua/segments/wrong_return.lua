-- match must return a boolean; a string is an error, not a truthy value.
function match(record, params)
  return 'yes'
end
