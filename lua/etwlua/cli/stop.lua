-- etwlua stop NAME...: stop trace sessions by name (stale ones too).
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { summary = "stop trace sessions by name (also stale ones)" }

function M.run(args)
  if #args == 0 or args[1] == "-h" or args[1] == "--help" then
    local out = #args == 0 and io.stderr or io.stdout
    out:write("usage: etwlua stop NAME...\n  Stops each named session; works on stale sessions whose owner died.\n")
    return #args == 0 and 2 or 0
  end
  local status = 0
  for _, name in ipairs(args) do
    local ok, err = etw.stop_session(name)
    if ok then print("stopped " .. name) else status = util.fail("stop", name .. ": " .. err) end
  end
  return status
end

return M
