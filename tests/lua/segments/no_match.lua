-- Defines no match function.
function matches(record, params) return true end
