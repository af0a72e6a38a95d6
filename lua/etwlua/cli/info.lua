-- etwlua info FILE...: what an .etl file holds: its header, the time span of
-- its events, counts per provider and per event, losses and record errors.
local etw = require "etw"
local util = require "etwlua.cliutil"
local agg = require "etwlua.agg"

local M = { name = "info", summary = "summarize .etl files: header, time span, counts per provider/event" }

M.usage = [==[
usage: etwlua info FILE... [--format text|json] [--top N] [--manifest FILE|DIR]...]==]

M.details = [==[
  For each file: the header (OS, pointer size, CPUs, clock, session name,
  start/end), the first and last event time and the span between, events
  and buffers lost (as the header says), corrupt records, and event counts
  per provider and per (provider, event name or id/opcode), largest first.
  -f, --format   text (default) or json (one JSON object per file and line)
  --top N        show at most N rows per table (default: all)
  --manifest M   name manifest events by the instrumentation manifest M (.man
                 file or directory of them; repeatable; also read: the
                 directories of ETWLUA_MANIFEST_PATH; see etwlua help dump).
                 Events are counted by name; events no schema describes by
                 id and opcode, marked "version=V NO_SCHEMA". Kernel records and EventSource events (by the
                 manifest the trace carries) are named without --manifest.
  Exit status: 0 clean; 1 a file that cannot be opened or read; 2 usage
  error; 3 some records were corrupt.]==]

local function parse(args)
  local opts, rest = util.getopt(args, { format = "value", top = "value", manifest = "list", help = "flag" },
    { ["-f"] = "format", ["-h"] = "help" })
  if not opts then return nil, rest end
  if opts.help then return opts end
  if #rest == 0 then return nil, "give at least one .etl file" end
  opts.files = rest
  local fok, ferr = util.choice_option(opts, "format", "text", { "text", "json" })
  if not fok then return nil, ferr end
  local ok, err = util.int_option(opts, "top", 1)
  if not ok then return nil, err end
  return opts
end

-- The event's label within its provider: its name, else id and opcode
-- (marked NO_SCHEMA when no schema describes it).
local function event_label(ev)
  if ev.name then return ev.name end
  local de = ev.decode_error
  return string.format("id=%d opcode=%d%s", ev.id, ev.opcode,
    de and de:sub(1, 10) == "NO_SCHEMA:" and string.format(" version=%d NO_SCHEMA", ev.version) or "")
end

-- Read one file: header tables, counts, errors. Returns the summary or nil, message.
local function summarize(path)
  local c <close>, err = etw.Consumer { files = path }
  if not c then return nil, err end
  local by_provider, by_event = agg.count(), agg.count()   -- provider id; (id, label)
  local names = {}                                          -- provider id -> name
  local first, last, events = nil, nil, 0
  local errors = {}
  c:on(function(ev)
    local id = ev.provider_id
    by_provider:add(id)
    by_event:add(agg.tuple(id, event_label(ev)))
    if not names[id] then names[id] = ev.provider end
    local t = ev.timestamp
    if t then
      if not first or t < first then first = t end
      if not last or t > last then last = t end
    end
    events = events + 1
  end)
  c:on_corrupt(function(msg) errors[#errors + 1] = msg end)
  local n, why = c:run()
  if not n then return nil, why end
  local info = c:info()[1]
  -- largest count first, then by provider id and event label
  local providers, evs = {}, {}
  for i, e in ipairs(by_provider:entries()) do
    providers[i] = { provider_id = e.key, provider = names[e.key], count = e.value }
  end
  for i, e in ipairs(by_event:entries()) do
    local id, label = e.key[1], e.key[2]
    evs[i] = { provider_id = id, provider = names[id], event = label, count = e.value }
  end
  return {
    file = path, header = info, events = events, first = first, last = last,
    providers = providers, event_counts = evs, corrupt = #errors, errors = errors,
  }
end

local function duration(first, last)
  if not first then return "-" end
  local s = (last - first) / 1e7
  if s < 60 then return string.format("%.3f s", s) end
  local h, m = s // 3600, (s % 3600) // 60
  return string.format("%.3f s (%dh%02dm%06.3fs)", s, h, m, s % 60)
end

local function provider_text(p)
  return p.provider and string.format("%s {%s}", p.provider, p.provider_id) or "{" .. p.provider_id .. "}"
end

local function print_text(out, s, top)
  local h = s.header
  out:write("file:            ", s.file, "\n")
  out:write(string.format("size:            %d bytes, %d buffers of %d bytes (%d compressed)\n",
    h.file_size, h.buffers, h.buffer_size, h.compressed_buffers))
  out:write(string.format("system:          Windows %s, %d-bit pointers, %d CPUs at %d MHz\n",
    h.os_version, h.pointer_size * 8, h.num_processors, h.cpu_speed_mhz))
  out:write(string.format("clock:           %s (%d ticks/s), log file mode 0x%x\n",
    h.clock, h.perf_freq, h.log_file_mode))
  out:write("session:         ", h.logger_name ~= "" and h.logger_name or "-", "\n")
  out:write("log file name:   ", h.logfile_name ~= "" and h.logfile_name or "-", "\n")
  out:write("session start:   ", h.start_time or "-", "\n")
  out:write("session end:     ", h.end_time or "- (still logging)", "\n")
  out:write("first event:     ", etw.iso_time(s.first) or "-", "\n")
  out:write("last event:      ", etw.iso_time(s.last) or "-", "\n")
  out:write("span:            ", duration(s.first, s.last), "\n")
  out:write(string.format("events:          %d\n", s.events))
  out:write(string.format("events lost:     %d (header), buffers lost: %d, buffers flagged with loss: %d\n",
    h.events_lost, h.buffers_lost, h.buffers_with_loss))
  out:write(string.format("corrupt records: %d\n", s.corrupt))
  for i, e in ipairs(s.errors) do
    if i > 10 then out:write(string.format("  ... %d more\n", #s.errors - 10)) break end
    out:write("  ", e, "\n")
  end
  local function rows(title, list, label)
    out:write("\n", title, "\n")
    for i, r in ipairs(list) do
      if top and i > top then
        out:write(string.format("%10s  (%d more)\n", "...", #list - top))
        break
      end
      out:write(string.format("%10d  %s\n", r.count, label(r)))
    end
  end
  rows("events by provider:", s.providers, provider_text)
  rows("events by provider / event:", s.event_counts, function(e)
    return (e.provider or "{" .. e.provider_id .. "}") .. " / " .. e.event
  end)
end

local function to_json(s, top)
  local function cut(list)
    if top and #list > top then list = table.move(list, 1, top, 1, {}) end
    return setmetatable(list, util.array_mt)
  end
  local h = s.header
  return util.json {
    file = s.file, header = h, events = s.events,
    first_event = etw.iso_time(s.first), last_event = etw.iso_time(s.last),
    span_seconds = s.first and (s.last - s.first) / 1e7 or nil,
    events_lost = h.events_lost, buffers_lost = h.buffers_lost,
    corrupt = s.corrupt, errors = setmetatable(s.errors, util.array_mt),
    providers = cut(s.providers), event_counts = cut(s.event_counts),
  }
end

function M.run(args)
  local opts, err = parse(args)
  if not opts then return util.usage_error(M, err) end
  if opts.help then print(util.help_text(M)) return util.OK end
  if opts.manifest then     -- once, for every file's consumer
    local ok, merr = etw.load_manifest(opts.manifest)
    if not ok then return util.fail("info", merr) end
  end
  local status = util.OK
  for i, path in ipairs(opts.files) do
    local s, serr = summarize(path)
    if not s then
      status = util.fail("info", serr)
    else
      if s.corrupt > 0 and status == util.OK then status = util.CORRUPT end
      util.file_loss_hint("info", s.header.events_lost or 0)
      if opts.format == "json" then
        io.stdout:write(to_json(s, opts.top), "\n")
      else
        if i > 1 then io.stdout:write("\n") end
        print_text(io.stdout, s, opts.top)
      end
    end
  end
  return status
end

return M
