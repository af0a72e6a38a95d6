-- etwlua sessions: list this user's trace sessions (like `logman query -ets`).
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { summary = "list running trace sessions (stale ones too)" }

local usage = [[
usage: etwlua sessions [--stale] [--json]
  Lists this user's sessions: name, owner pid, state, providers, events, lost.
  A session whose owner process died is "stale": remove it with
  `etwlua stop NAME` or `etwlua stop --stale`, or start a new session of
  that name.
  --stale  list only the stale sessions
  --json   print the list as a JSON array]]

function M.run(args)
  local opts, rest = util.getopt(args, { json = "flag", stale = "flag", help = "flag" }, { ["-h"] = "help" })
  if not opts then return util.fail("sessions", rest .. "\n" .. usage) end
  if opts.help then print(usage) return 0 end
  if #rest > 0 then return util.fail("sessions", "unexpected argument '" .. rest[1] .. "'") end
  local list, err = etw.sessions()
  if not list then return util.fail("sessions", err) end
  if opts.stale then
    local only = {}
    for _, s in ipairs(list) do
      if s.state == "stale" then only[#only + 1] = s end
    end
    list = only
  end
  if opts.json then
    -- cjson encodes an empty table as {}; the list is always an array
    print(#list == 0 and "[]" or require("cjson").encode(list))
    return 0
  end
  if #list == 0 then
    print(opts.stale and "no stale sessions" or "no sessions")
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
