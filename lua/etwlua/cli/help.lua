-- etwlua help [CMD]: list the built-in commands, or print one's full help.
local util = require "etwlua.cliutil"

local M = { name = "help", summary = "list the built-in commands; `help CMD`: a command's options" }

M.usage = "usage: etwlua help [COMMAND]"
M.details = "  Exit status: 0 ok; 2 usage error (unknown command)."

-- Built-in commands, in the order help shows them.
M.commands = { "help", "version", "guid", "sessions", "stop", "watch", "capture", "dump", "info",
               "providers" }

local function list()
  print("usage: etwlua [options] [script [args]]   run a Lua script (like lua)")
  print("       etwlua COMMAND [args]                run a built-in command")
  print("\ncommands:")
  for _, name in ipairs(M.commands) do
    local cmd = require("etwlua.cli." .. name)
    print(string.format("  %-10s %s", name, cmd.summary or ""))
  end
  print("\nRun `etwlua help COMMAND` (or `etwlua COMMAND --help`) for a command's options;")
  print("`etwlua -h` for interpreter options.")
  print("Exit status of every command: 0 ok, 1 error, 2 usage error, 3 (dump, info) read but")
  print("some records were corrupt; capture -- COMMAND exits with the command's status.")
end

function M.run(args)
  if #args == 0 then
    list()
    return util.OK
  end
  if #args > 1 then return util.usage_error(M, "give one COMMAND") end
  local name = args[1]
  if name == "-h" or name == "--help" then
    print(util.help_text(M))
    return util.OK
  end
  for _, known in ipairs(M.commands) do
    if known == name then
      print(util.help_text(require("etwlua.cli." .. name)))
      return util.OK
    end
  end
  return util.usage_error(M, "unknown command '" .. util.escape_text(name) .. "'")
end

return M
