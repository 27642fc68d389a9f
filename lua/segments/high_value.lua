-- high_value: records whose total_value is at least params.min_spend (default 0), e.g.
--   { "operator": "script", "script": "high_value", "params": { "min_spend": 500 } }
-- Meant for the transactions index; a record without total_value (null) never matches.

function match(record, params)
  local total = record.total_value
  if type(total) ~= 'number' then
    return false
  end
  return total >= (tonumber(params.min_spend) or 0)
end
