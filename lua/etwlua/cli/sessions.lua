-- etwlua sessions: list this user's trace sessions (like `logman query -ets`).
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { name = "sessions", summary = "list running trace sessions (stale ones too)" }

M.usage = "usage: etwlua sessions [--stale] [--json]"

M.details = [[
  Lists this user's sessions: name, owner pid, state, providers, events, lost.
  A session whose owner process died is "stale": remove it with
  `etwlua stop NAME` or `etwlua stop --stale`, or start a new session of
  that name.
  --stale  list only the stale sessions
  --json   print the list as a JSON array (64-bit counts exact; bytes of a
           name that are not UTF-8 become U+FFFD)
  In the text listing, control characters, backslashes and bytes that are
  not UTF-8 in names are shown escaped (\n as \x0a, \ as \\).
  With none to list, stdout stays empty and "no sessions" (or "no stale
  sessions") goes to stderr, so a script counting lines counts sessions.
  Exit status: 0 ok; 1 the sessions cannot be listed; 2 usage error.]]

-- The list as a JSON array of objects with etw.sessions()'s keys, through
-- util.json (exact 64-bit integers, valid UTF-8), never cjson's doubles.
local function to_json(list)
  return util.json(setmetatable(list, util.array_mt))
end

function M.run(args)
  local opts, rest = util.getopt(args, { json = "flag", stale = "flag", help = "flag" }, { ["-h"] = "help" })
  if not opts then return util.usage_error(M, rest) end
  if opts.help then print(util.help_text(M)) return util.OK end
  if #rest > 0 then return util.usage_error(M, "unexpected argument '" .. rest[1] .. "'") end
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
    print(to_json(list))
    return util.OK
  end
  if #list == 0 then   -- a note, not a row: stdout stays empty for scripts
    io.stderr:write(opts.stale and "no stale sessions\n" or "no sessions\n")
    return util.OK
  end
  local rows = {}
  for _, s in ipairs(list) do
    rows[#rows + 1] = { util.escape_text(s.name), s.owner_pid, s.state, s.mode, s.providers,
                        s.events, s.lost }
  end
  util.columns(io.stdout, { "NAME", "OWNER", "STATE", "MODE", "PROVIDERS", "EVENTS", "LOST" }, rows)
  return util.OK
end

return M
