-- etwlua guid NAME...: print the provider id ETW derives from each name.
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { name = "guid", summary = "print the provider id (GUID) of provider names" }

M.usage = "usage: etwlua guid [--] NAME..."

M.details = [[
  Prints the GUID that TraceLogging, EventSource and `tracelog -guid *NAME`
  derive from NAME (SHA-1 name hash, case-insensitive). Names that start
  with "-" go after "--".
  Exit status: 0 ok; 1 a name that is not UTF-8; 2 usage error.]]

function M.run(args)
  local opts, names = util.getopt(args, { help = "flag" }, { ["-h"] = "help" })
  if not opts then return util.usage_error(M, names) end
  if opts.help then
    print(util.help_text(M))
    return util.OK
  end
  if #names == 0 then return util.usage_error(M, "give at least one provider NAME") end
  for _, name in ipairs(names) do
    local ok, id = pcall(etw.providerid_from_name, name)
    if not ok then
      return util.fail("guid", util.escape_text(name) .. ": provider name must be valid UTF-8")
    end
    if #names > 1 then
      print(id .. "  " .. name)
    else
      print(id)
    end
  end
  return util.OK
end

return M
