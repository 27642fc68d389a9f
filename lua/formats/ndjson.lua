-- ndjson: one JSON object per line (newline-delimited JSON), keys in column order, a nested
-- list as an array of objects. Values: strings escaped per RFC 8259, money with its two
-- decimals (12.50), other numbers in the shortest text that reads back exactly, dates as
-- strings, booleans as true/false, null as null. No header and no footer: zero records make
-- an empty file. The contract this file follows is docs/lua-api.md.

local columns -- the fields given to header(), each with a precomputed "key": text

local escapes = {
  ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
}

local function escape_char(c)
  return escapes[c] or string.format('\\u%04x', string.byte(c))
end

-- Text is valid UTF-8 already (the engine checks every value), so only quotes, backslashes
-- and control bytes need escaping.
local function quote(s)
  return '"' .. string.gsub(s, '[%c"\\]', escape_char) .. '"'
end

local function number(v)
  if math.type(v) == 'integer' then
    return string.format('%d', v)
  end
  if v ~= v or v == math.huge or v == -math.huge then
    return 'null' -- JSON has no NaN or infinity
  end
  for _, f in ipairs({ '%.15g', '%.16g', '%.17g' }) do
    local s = string.format(f, v)
    if tonumber(s) == v then
      return s
    end
  end
end

local function value(v, ftype)
  local t = type(v)
  if t == 'string' then
    return quote(v)
  elseif t == 'number' then
    if ftype == 'money' then
      return string.format('%.2f', v)
    end
    return number(v)
  elseif t == 'boolean' then
    return v and 'true' or 'false'
  end
  return 'null' -- tw.null
end

local function object(rec, fields)
  local parts = {}
  for i, f in ipairs(fields) do
    local v = rec[f.name]
    if f.type == 'list' then
      local items = {}
      if type(v) == 'table' then
        for k, item in ipairs(v) do
          items[k] = object(item, f.fields)
        end
      end
      parts[i] = f.key .. '[' .. table.concat(items, ',') .. ']'
    else
      parts[i] = f.key .. value(v, f.type)
    end
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

local function prepare(fields)
  for _, f in ipairs(fields) do
    f.key = quote(f.name) .. ':'
    if f.fields then
      prepare(f.fields)
    end
  end
end

function header(fields)
  prepare(fields)
  columns = fields
  return nil
end

function row(record)
  return object(record, columns) .. '\n'
end
