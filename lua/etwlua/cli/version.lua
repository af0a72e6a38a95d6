-- etwlua version: print the etwlua and Lua versions.
local etw = require "etw"

local M = { summary = "print the etwlua and Lua versions" }

function M.run(args)
  if args[1] == "-h" or args[1] == "--help" then
    print("usage: etwlua version")
    return 0
  end
  print(string.format("etwlua %s (%s)", etw.VERSION, _VERSION))
  return 0
end

return M
