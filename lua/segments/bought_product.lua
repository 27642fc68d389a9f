-- bought_product: transactions with at least params.min_quantity (default 1) units of any of
-- the products in params.codes (retailer_product_code), e.g.
--   { "operator": "script", "script": "bought_product",
--     "params": { "codes": ["SKU-1", "SKU-2"], "min_quantity": 2 } }
-- Shows how to walk a nested list: record.items is an array of tables.

local wanted_cache = setmetatable({}, { __mode = 'k' }) -- params table -> set of codes

local function wanted(params)
  local set = wanted_cache[params]
  if set == nil then
    set = {}
    if type(params.codes) == 'table' then
      for _, code in ipairs(params.codes) do
        set[code] = true
      end
    end
    wanted_cache[params] = set
  end
  return set
end

function match(record, params)
  local set = wanted(params)
  local min = tonumber(params.min_quantity) or 1
  local units = 0
  for _, item in ipairs(record.items) do
    if set[item.retailer_product_code] and type(item.quantity) == 'number' then
      units = units + item.quantity
    end
  end
  return units >= min
end
