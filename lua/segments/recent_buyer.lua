-- recent_buyer: transactions made in the last params.days days (default 30) before the run
-- started, optionally only those spending at least params.min_spend, e.g.
--   { "operator": "script", "script": "recent_buyer", "params": { "days": 7 } }
-- The window is measured from tw.now(), the run's start, so a repeating task exports the
-- same window every time it runs.

function match(record, params)
  local at = record.timestamp
  if at == tw.null then
    return false
  end
  local t = tw.parse_time(at)
  if t == nil then
    return false
  end
  local days = tonumber(params.days) or 30
  if t < tw.now() - days * 86400 then
    return false
  end
  local min = tonumber(params.min_spend)
  return min == nil or (type(record.total_value) == 'number' and record.total_value >= min)
end
