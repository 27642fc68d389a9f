-- tsv: tab-separated values with a header line, "\n" line ends, UTF-8. In a value, a
-- backslash, tab, newline and carriage return are written as \\ \t \n \r, so every line is
-- one record and every tab a column break. null is an empty cell; booleans true/false; money
-- with its two decimals (12.50); other numbers in the shortest text that reads back exactly;
-- dates as their ISO text.
--
-- A nested list (transactions' items) is flattened as the CSV format does it (docs/reference.md §7.2):
-- one line per element, the other columns repeated, the element's columns last and named
-- item_<name> (without a "basket_" or "item_" prefix); a record without elements is one line
-- with empty element cells. Only the first list column is flattened; any further one is left
-- out. The contract this file follows is docs/lua-api.md.

local plain = {} -- top-level fields that are not lists
local list       -- the flattened list field, or nil

local escapes = { ['\\'] = '\\\\', ['\t'] = '\\t', ['\n'] = '\\n', ['\r'] = '\\r' }

local function text(s)
  return (string.gsub(s, '[\\\t\n\r]', escapes))
end

local function number(v)
  if math.type(v) == 'integer' then
    return string.format('%d', v)
  end
  for _, f in ipairs({ '%.15g', '%.16g', '%.17g' }) do
    local s = string.format(f, v)
    if tonumber(s) == v then
      return s
    end
  end
  return tostring(v) -- nan, inf
end

local function cell(v, ftype)
  local t = type(v)
  if t == 'string' then
    return text(v)
  elseif t == 'number' then
    if ftype == 'money' then
      return string.format('%.2f', v)
    end
    return number(v)
  elseif t == 'boolean' then
    return v and 'true' or 'false'
  end
  return '' -- tw.null
end

local function item_column(name)
  name = string.gsub(name, '^basket_', '')
  name = string.gsub(name, '^item_', '')
  return 'item_' .. name
end

function header(fields)
  local names = {}
  for _, f in ipairs(fields) do
    if f.type ~= 'list' then
      plain[#plain + 1] = f
      names[#names + 1] = text(f.name)
    elseif list == nil then
      list = f
    end
  end
  if list then
    for _, s in ipairs(list.fields) do
      names[#names + 1] = text(item_column(s.name))
    end
  end
  return table.concat(names, '\t') .. '\n'
end

function row(record)
  local cells = {}
  for i, f in ipairs(plain) do
    cells[i] = cell(record[f.name], f.type)
  end
  local base = table.concat(cells, '\t')
  if not list then
    return base .. '\n'
  end
  local items = record[list.name]
  local sep = #plain > 0 and '\t' or ''
  if type(items) ~= 'table' or #items == 0 then
    return base .. sep .. string.rep('\t', #list.fields - 1) .. '\n'
  end
  local lines = {}
  for k, item in ipairs(items) do
    local sub = {}
    for j, s in ipairs(list.fields) do
      sub[j] = cell(item[s.name], s.type)
    end
    lines[k] = base .. sep .. table.concat(sub, '\t') .. '\n'
  end
  return table.concat(lines)
end
