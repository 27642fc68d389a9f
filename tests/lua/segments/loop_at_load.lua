-- Spins while the file runs: the budget applies to loading too.
local n = 0
while true do n = n + 1 end
