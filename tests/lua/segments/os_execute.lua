-- The os library is not opened: os is nil.
function match(record, params)
  os.execute('touch /tmp/taskwheel-lua-escaped')
  return true
end
