-- etwlua watch -p PROVIDER[:level[:keywords]]...: a live view of events
-- written by other processes, one line (text, JSON or CSV) per event, with
-- dump's filters. Built on etwlua.filter and etwlua.format.
local etw = require "etw"
local util = require "etwlua.cliutil"
local format = require "etwlua.format"

local M = { name = "watch", summary = "show events of providers live (-p NAME[:level[:keywords]])" }

M.usage = [==[
usage: etwlua watch -p NAME[:level[:keywords]] [-p ...] [--format text|json|csv]
                    [-e EVENT]... [--filter EXPR] [--duration SECONDS]
                    [--max-events N] [--session NAME] [--buffers N] [--buffer-kb N]]==]

M.details = [==[
  Starts a real-time session, enables each provider (NAME or {GUID}; level
  0..255 or critical/error/warning/info/verbose, default verbose; keywords
  default to all bits), and prints every event until Ctrl+C, SIGTERM or
  SIGHUP (a normal end: status 0, the session is removed), --duration
  seconds or --max-events events. Linux, as root or with CAP_PERFMON:
  kernel sources too, -p Linux-Kernel-Process or -p tracepoint:GROUP:NAME
  (the whole tracepoint:GROUP:NAME is the name, e.g.
  -p tracepoint:sched:sched_switch:info).
  -f, --format      text (default): "TIME PID/TID Provider/Event(...) fields";
                    json: one ev:json() object per line; csv: a header line,
                    then timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields
  -e, --event E     only events named E (or with id E when E is a number); repeatable
  --filter EXPR     only events for which the Lua expression EXPR is true
                    (the language of `etwlua dump --filter`; comparisons of
                    fields with literals joined by `and`, such as
                    fields.Status >= 500, are tested in C: the fast path)
  --buffers N       buffers per producer thread's ring (2..16384, default 32)
  --buffer-kb N     buffer size in KB (4..16384, default 64)
  With stderr on a terminal, a counts line is shown every second. Events
  lost because a ring was full are counted, and a hint names --buffers.
  Exit status: 0 ok; 1 the session could not start; 2 usage error.]==]

local function parse(args)
  local opts, rest = util.getopt(args,
    { provider = "list", event = "list", filter = "value", format = "value",
      duration = "value", ["max-events"] = "value", session = "value", buffers = "value",
      ["buffer-kb"] = "value", help = "flag" },
    { ["-p"] = "provider", ["-e"] = "event", ["-f"] = "format", ["-h"] = "help" })
  if not opts then return nil, rest end
  if opts.help then return opts end
  if #rest > 0 then return nil, "unexpected argument '" .. rest[1] .. "'" end
  if not opts.provider then return nil, "give at least one provider with -p NAME" end
  local fok, ferr = util.choice_option(opts, "format", "text", { "text", "json", "csv" })
  if not fok then return nil, ferr end
  local enables, perr = util.parse_providers(opts.provider)
  if not enables then return nil, perr end
  opts.enables = enables
  local ok, err = util.seconds_option(opts, "duration")
  if ok then ok, err = util.int_option(opts, "max-events", 1) end
  if ok then ok, err = util.session_option(opts) end
  if not ok then return nil, err end
  opts.session_opts, err = util.ring_options(opts)
  if not opts.session_opts then return nil, err end
  return opts
end

function M.run(args)
  local opts, pred = util.begin_filtered(M, parse, args)
  if not opts then return pred end      -- the exit status

  local name = opts.session or ("etwlua-watch-" .. etw.pid())
  local s <close>, serr = util.start_session(name, opts.session_opts, opts.enables)
  if not s then return util.fail("watch", serr) end
  local c <close>, cerr = etw.Consumer { session = name }
  if not c then return util.fail("watch", cerr) end

  local write = format.new(opts.format, io.stdout)
  local max, printed = opts["max-events"], 0
  util.on_filtered(c, nil, opts.event, function(ev)
    if pred and not pred(ev) then return end
    write(ev)
    printed = printed + 1
    if max and printed >= max then c:stop() end
  end, opts.fast_filter)
  local lost = 0
  c:on_lost(function(n) lost = lost + n end)

  local tty = etw.isatty(io.stderr)
  -- runs of at most 1 s (the counts line); each ends on time even while
  -- events keep coming, so the time left is what the runs took.
  -- SIGINT, SIGTERM and SIGHUP end a run "interrupted": a normal end.
  local left_ms = opts.duration and math.floor(opts.duration * 1000)
  local reason
  repeat
    local step = left_ms and math.min(1000, left_ms) or 1000
    local _, why = c:run { timeout_ms = step }
    io.stdout:flush()
    if tty then
      io.stderr:write(string.format("\r%d events, %d lost ", printed, lost))
    end
    if why ~= "timeout" then
      reason = why
    elseif left_ms then
      left_ms = left_ms - step
      if left_ms <= 0 then reason = "duration" end
    end
  until reason
  if tty then io.stderr:write("\n") end
  util.loss_hint("watch", lost, opts)
  return util.OK
end

return M
