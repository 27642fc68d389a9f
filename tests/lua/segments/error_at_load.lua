-- Fails while the file itself runs, before match exists.
local x = nil
local y = x.field
function match(record, params) return true end
