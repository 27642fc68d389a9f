-- ndjson: one JSON object per line (newline-delimited JSON), keys in column order, a nested
-- list as an array of objects. Values: strings escaped per RFC 8259, money with its two
-- decimals (12.50), other numbers in the shortest text that reads back exactly, dates as
-- strings, booleans as true/false, null as null. No header and no footer: zero records make
-- an empty file. The contract this file follows is docs/lua-api.md.
--
-- tw.json does the encoding in C: building each value's text in Lua made this formatter
-- about 8 times slower than the built-in json writer (bench/segment/run.sh).

local columns -- the fields given to header(): names, types and nested fields, in order

function header(fields)
  columns = fields
  return nil
end

function row(record)
  return tw.json(record, columns) .. '\n'
end
