-- Catches the budget error and spins again: pcall must not swallow the budget.
function match(record, params)
  while true do
    pcall(function()
      while true do end
    end)
  end
end
