-- An ordinary runtime error.
function match(record, params)
  local limit = params.no_such_param
  return record.total_value > limit
end
