-- slow: a segment script for the console's browser test (tests/console/console.test.js). It
-- spends params.spin loop turns on every record, so that a run over a few thousand seeded
-- records lasts long enough for the console to show its progress; params.fail makes it return
-- a string, which ends the run in ERROR (a failed task for the task list).
function match(record, params)
  local n = 0
  for i = 1, tonumber(params.spin) or 0 do
    n = n + i
  end
  if params.fail then
    return 'not a boolean'
  end
  return n >= 0 and record.id ~= nil
end
