-- etwlua watch -p PROVIDER[:level[:keywords]]...: a live view of events
-- written by other processes, one line (or JSON object) per event.
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { summary = "show events of providers live (-p NAME[:level[:keywords]])" }

local usage = [==[
usage: etwlua watch -p NAME[:level[:keywords]] [-p ...] [--format text|json]
                    [--duration SECONDS] [--max-events N] [--session NAME]
  Starts a real-time session, enables each provider (NAME or {GUID}; level
  0..255 or critical/error/warning/info/verbose, default verbose; keywords
  default to all bits), and prints every event until Ctrl+C.
  With stderr on a terminal, a counts line is shown every second.]==]

local function parse(args)
  local opts, rest = util.getopt(args,
    { provider = "list", format = "value", duration = "value", ["max-events"] = "value",
      session = "value", help = "flag" },
    { ["-p"] = "provider", ["-f"] = "format", ["-h"] = "help" })
  if not opts then return nil, rest end
  if opts.help then return opts end
  if #rest > 0 then return nil, "unexpected argument '" .. rest[1] .. "'" end
  if not opts.provider then return nil, "give at least one provider with -p NAME" end
  opts.format = opts.format or "text"
  if opts.format ~= "text" and opts.format ~= "json" then
    return nil, "--format must be text or json"
  end
  local enables, perr = util.parse_providers(opts.provider)
  if not enables then return nil, perr end
  opts.enables = enables
  opts.duration = opts.duration and tonumber(opts.duration)
  opts.max = opts["max-events"] and math.tointeger(tonumber(opts["max-events"]))
  return opts
end

function M.run(args)
  local opts, err = parse(args)
  if not opts then return util.fail("watch", err .. "\n" .. usage) end
  if opts.help then print(usage) return 0 end

  local name = opts.session or ("etwlua-watch-" .. etw.pid())
  local s <close>, serr = util.start_session(name, nil, opts.enables)
  if not s then return util.fail("watch", serr) end
  local c <close>, cerr = etw.Consumer { session = name }
  if not c then return util.fail("watch", cerr) end

  local json = opts.format == "json"
  c:on(function(ev)
    io.stdout:write(json and ev:json() or tostring(ev), "\n")
  end)
  local lost = 0
  c:on_lost(function(n) lost = lost + n end)

  local tty = etw.isatty(io.stderr)
  local deadline = opts.duration and (os.time() + opts.duration)
  local total, reason = 0, nil
  repeat
    local left = opts.max and (opts.max - total) or nil
    local n, why = c:run { timeout_ms = 1000, max_events = left }
    total = total + n
    io.stdout:flush()
    if tty then
      io.stderr:write(string.format("\r%d events, %d lost ", total, lost))
    end
    if why ~= "timeout" then reason = why end
    if deadline and os.time() >= deadline then reason = "duration" end
  until reason
  if tty then io.stderr:write("\n") end
  return 0
end

return M
