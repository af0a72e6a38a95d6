-- etwlua guid NAME...: print the provider id ETW derives from each name.
local etw = require "etw"

local M = { summary = "print the provider id (GUID) of provider names" }

local function usage(out)
  out:write("usage: etwlua guid NAME...\n",
            "  Prints the GUID that TraceLogging, EventSource and `tracelog -guid *NAME`\n",
            "  derive from NAME (SHA-1 name hash, case-insensitive).\n")
end

function M.run(args)
  if #args == 0 then
    usage(io.stderr)
    return 2
  end
  if args[1] == "-h" or args[1] == "--help" then
    usage(io.stdout)
    return 0
  end
  for _, name in ipairs(args) do
    local ok, id = pcall(etw.providerid_from_name, name)
    if not ok then
      io.stderr:write("etwlua guid: ", name, ": provider name must be valid UTF-8\n")
      return 1
    end
    if #args > 1 then
      print(id .. "  " .. name)
    else
      print(id)
    end
  end
  return 0
end

return M
