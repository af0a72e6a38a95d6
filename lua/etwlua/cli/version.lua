-- etwlua version: print the etwlua and Lua versions.
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { name = "version", summary = "print the etwlua and Lua versions" }

M.usage = "usage: etwlua version"
M.details = "  Exit status: 0 ok; 2 usage error."

function M.run(args)
  if args[1] == "-h" or args[1] == "--help" then
    print(util.help_text(M))
    return util.OK
  end
  if #args > 0 then return util.usage_error(M, "unexpected argument '" .. args[1] .. "'") end
  print(string.format("etwlua %s (%s)", etw.VERSION, _VERSION))
  return util.OK
end

return M
