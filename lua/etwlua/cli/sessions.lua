-- etwlua sessions: list this user's trace sessions (like `logman query -ets`).
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { summary = "list running trace sessions (stale ones too)" }

local usage = [[
usage: etwlua sessions [--json]
  Lists this user's sessions: name, owner pid, state, providers, events, lost.
  A session whose owner process died is "stale": remove it with
  `etwlua stop NAME`, or start a new session of that name.]]

function M.run(args)
  local opts, rest = util.getopt(args, { json = "flag", help = "flag" }, { ["-h"] = "help" })
  if not opts then return util.fail("sessions", rest .. "\n" .. usage) end
  if opts.help then print(usage) return 0 end
  if #rest > 0 then return util.fail("sessions", "unexpected argument '" .. rest[1] .. "'") end
  local list, err = etw.sessions()
  if not list then return util.fail("sessions", err) end
  if opts.json then
    print(require("cjson").encode(list))
    return 0
  end
  if #list == 0 then
    print("no sessions")
    return 0
  end
  local rows = {}
  for _, s in ipairs(list) do
    rows[#rows + 1] = { s.name, s.owner_pid, s.state, s.mode, s.providers, s.events, s.lost }
  end
  util.columns(io.stdout, { "NAME", "OWNER", "STATE", "MODE", "PROVIDERS", "EVENTS", "LOST" }, rows)
  return 0
end

return M
