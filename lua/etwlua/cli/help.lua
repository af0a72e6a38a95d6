-- etwlua help: list the built-in commands.
local M = { summary = "list the built-in commands" }

-- Built-in commands, in the order help shows them.
M.commands = { "help", "version", "guid", "sessions", "stop", "watch", "capture", "dump", "info" }

function M.run()
  print("usage: etwlua [options] [script [args]]   run a Lua script (like lua)")
  print("       etwlua COMMAND [args]                run a built-in command")
  print("\ncommands:")
  for _, name in ipairs(M.commands) do
    local cmd = require("etwlua.cli." .. name)
    print(string.format("  %-10s %s", name, cmd.summary or ""))
  end
  print("\nRun `etwlua COMMAND --help` for a command's options; `etwlua -h` for interpreter options.")
  return 0
end

return M
