-- Does not compile.
function match(record, params)
  return record.id ==
end
