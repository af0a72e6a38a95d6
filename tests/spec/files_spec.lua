-- etw.Consumer{files=...} over the 12 real Windows samples in
-- $ETWLUA_SHARED/etl-samples: every record reaches Lua as an etw.Event whose
-- header fields equal the reference scanner's (etlscan.jsonl), in timestamp
-- order; TraceLogging values equal PerfView's (primitive-types baseline,
-- SelfDescribingSingleEvent expectation); several files merge by time;
-- damaged copies (made here at run time) report errors with offsets and
-- still deliver the events before the damage.
local etw = require "etw"
local cjson = require "cjson"
local util = require "testutil"

local dir = util.shared_dir()
local S = dir and dir .. "/etl-samples/"

local samples = {
  "airbus-etl-parser/lxcore_kernel.etl", "airbus-etl-parser/AMSITrace.etl",
  "airbus-etl-parser/ShutdownPerfDiagLogger.etl", "perfview/primitive-types.etl",
  "perfview/SelfDescribingSingleEvent.etl", "perfview/gcevents.PerfViewData.etl",
  "perfview/gcrundownevents.PerfViewData.clrRundown.etl", "perfview/net.4.5.2.x64.etl",
  "tx/HTTP_Server.etl", "s4/SIH.20230422.034724.362.1.etl",
  "s4/WindowsUpdate.20251008.140245.443.8.etl", "s4/waasmedic.20251005_113019_195.etl",
}

local WU = "s4/WindowsUpdate.20251008.140245.443.8.etl"  -- 7 x 4 KiB, 82 records

-- ------------------------------------------------------------ helpers

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- Lines of a .jsonl file, or of its .jsonl.gz through gzip (nil if neither).
local function jsonl_lines(base)
  if exists(base) then return io.lines(base) end
  if exists(base .. ".gz") and io.popen then
    local ok, p = pcall(io.popen, "gzip -dc '" .. base .. ".gz' 2>/dev/null")
    if ok and p then
      local first = p:read("l")
      if first then
        local done = false
        return function()
          if first then local l = first; first = nil; return l end
          if done then return nil end
          local l = p:read("l")
          if not l then done = true; p:close() end
          return l
        end
      end
      p:close()
    end
  end
  return nil
end

-- C-style (truncating) integer division, as the reader's clock conversion.
local function tdiv(a, b) return a >= 0 and a // b or -((-a) // b) end

-- The spec §7 QPC formula over the reference's own header values.
local function filetime(h, ts)
  local d = ts - h._header_event_ts
  local q = tdiv(d, h.PerfFreq)
  return h.StartTime + q * 10000000 + tdiv((d - q * h.PerfFreq) * 10000000, h.PerfFreq)
end

-- The value after `key` in a JSON line (a plain search: lines are long).
local function field(line, key, pat)
  local at = line:find(key, 1, true)
  if not at then return nil end
  return line:match("^" .. pat, at + #key)
end

-- The reference: etlscan.json summary + records (file order) from .jsonl.
local ref_cache = {}
local function reference(name)
  if ref_cache[name] ~= nil then return ref_cache[name] end
  local text = util.read_file(S .. name .. ".etlscan.json")
  local scan = cjson.decode(text)
  -- cjson reads numbers as doubles: take the header's integers from the text
  local h = scan.logfile_header
  for k, v in text:match('"logfile_header": (%b{})'):gmatch('"([%w_]+)": (%-?%d+)[,\n}]') do
    h[k] = math.tointeger(v)
  end
  scan.bytes, scan.records = math.tointeger(scan.bytes), math.tointeger(scan.records)
  scan.buffers, scan.compressed_buffers = math.tointeger(scan.buffers), math.tointeger(scan.compressed_buffers)
  local ref = { scan = scan, header = h }
  local lines = jsonl_lines(S .. name .. ".etlscan.jsonl")
  if lines then
    local cpu_of, recs = {}, {}
    for line in lines do
      if line:find('{"kind": "buffer"', 1, true) == 1 then
        local off = math.tointeger(field(line, '"file_off": ', "(%d+)"))
        local pi = math.tointeger(field(line, '"ProcessorIndex": ', "(%d+)"))
        local flag = math.tointeger(field(line, '"BufferFlag": ', "(%d+)"))
        cpu_of[off] = flag & 0x20 ~= 0 and pi & 0x7FF or pi & 0xFF
      elseif line:find('{"kind": "record"', 1, true) == 1 then
        local buf, rec_off, hdr = line:match('^{"kind": "record", "buf_off": (%d+), "rec_off": (%d+), "hdr": "([%w_]+)"')
        local tid, pid, ts = field(line, '"tid": ', '(%w+), "pid": (%w+), "ts": (%-?%d+)')
        local r = {
          i = #recs + 1, ts = math.tointeger(ts), hdr = hdr,
          buf = math.tointeger(buf), rec_off = math.tointeger(rec_off),
          pid = math.tointeger(pid), tid = math.tointeger(tid),
        }
        -- a header without pid/tid (PERFINFO, WPP without SYSTEMINFO): nil in Lua
        if r.pid == 0xFFFFFFFF then r.pid = nil end
        if r.tid == 0xFFFFFFFF then r.tid = nil end
        r.cpu = cpu_of[r.buf]
        if hdr:find("EVENT_HEADER", 1, true) == 1 then
          r.provider = field(line, '"provider": "', "([%x%-]+)")
        elseif hdr:find("FULL_HEADER", 1, true) == 1 then
          r.provider = field(line, '"guid": "', "([%x%-]+)")
        end
        r.tl_event = field(line, '"tl": {"event": "', '([^"]*)')
        r.data_len = math.tointeger(field(line, '"user_data_len": ', "(%d+)") or field(line, '"payload_len": ', "(%d+)"))
        if scan.records < 5000 or r.i % 31 == 1 then   -- payload bytes: a sample of big files
          r.data_hex = field(line, '"user_data_hex": "', '(%x*)')
        end
        if line:find('"ext": [', 1, true) then
          r.ext = {}
          for t, hex in line:gmatch('{"type": (%d+), "item_size": %d+, "linkage": %d+, "data_size": %d+,.-"hex": "(%x*)"}') do
            r.ext[#r.ext + 1] = { type = math.tointeger(t), hex = hex }
          end
        end
        recs[#recs + 1] = r
      end
    end
    ref.recs = recs
  end
  ref_cache[name] = ref
  return ref
end

-- Delivery order the reader promises: stable sort by raw timestamp.
local function in_time_order(recs)
  local ord = table.move(recs, 1, #recs, 1, {})
  table.sort(ord, function(a, b)
    if a.ts ~= b.ts then return a.ts < b.ts end
    return a.i < b.i
  end)
  return ord
end

-- etlscan's header names ("SYSTEM64") -> ev.header_kind
local header_kinds = {}
for k, v in pairs({ EVENT_HEADER = "event_header", FULL_HEADER = "classic", INSTANCE = "instance",
                    SYSTEM = "system", COMPACT = "compact", PERFINFO = "perfinfo" }) do
  header_kinds[k .. "32"], header_kinds[k .. "64"] = v, v
end

-- Payload, header kind and extended items of event g vs reference record w.
local function compare_details(g, w)
  if g.header_kind ~= header_kinds[w.hdr] then return "header kind" end
  if w.data_len and #g.payload ~= w.data_len then return "payload length" end
  if w.data_hex and g.payload:sub(1, #w.data_hex // 2) ~= util.fromhex(w.data_hex) then
    return "payload bytes"
  end
  local want_ext = w.ext or {}
  if #want_ext ~= (g.ext and #g.ext or 0) then return "ext item count" end
  local stack, related
  for i, x in ipairs(want_ext) do
    if g.ext[i].type ~= x.type or g.ext[i].hex ~= x.hex then return "ext item " .. i end
    if (x.type == 5 or x.type == 6) and not stack then stack = x end
    if x.type == 1 and not related then related = x end
  end
  if stack then
    local bytes, width = util.fromhex(stack.hex), stack.type == 6 and 8 or 4
    if not g.stack or #g.stack ~= (#bytes - 8) // width then return "stack length" end
    for i, addr in ipairs(g.stack) do
      if addr ~= string.unpack(width == 8 and "<i8" or "<I4", bytes, 9 + (i - 1) * width) then
        return "stack address " .. i
      end
    end
  elseif g.stack then
    return "stack"
  end
  if related then
    local b = util.fromhex(related.hex)
    local id = string.format("%08x-%04x-%04x-%s-%s", string.unpack("<I4", b), string.unpack("<I2", b, 5),
      string.unpack("<I2", b, 7), util.tohex(b:sub(9, 10)), util.tohex(b:sub(11, 16)))
    if g.related ~= id then return "related activity id" end
  elseif g.related and w.hdr:find("^EVENT_HEADER") then
    return "related activity id"
  end
  return nil
end

-- What a handler sees of every event of `files` (one run, cached per key).
local run_cache = {}
local function events_of(files)
  local key = type(files) == "table" and table.concat(files, "\n") or files
  if run_cache[key] then return run_cache[key] end
  local c <close> = assert(etw.Consumer { files = files })
  local got = {}
  c:on(function(ev)
    local e = { ts = ev.timestamp, pid = ev.pid, tid = ev.tid, cpu = ev.cpu,
                provider_id = ev.provider_id, name = ev.name, level = ev.level,
                payload = ev.payload, header_kind = ev.header_kind,
                related = ev.related_activity_id, stack = ev.stack }
    local ext = ev.ext
    if ext and #ext > 0 then
      e.ext = {}
      for k, item in ipairs(ext) do e.ext[k] = { type = item.type, hex = util.tohex(item.data) } end
    end
    got[#got + 1] = e
  end)
  local n, why = c:run()
  assert.equal("stopped", why)
  assert.equal(#got, n)
  local res = { events = got, stats = c:stats(), info = c:info() }
  run_cache[key] = res
  return res
end

-- One counting pass over a file: {n = events handled, stats =, info =}.
-- Cheaper than events_of, which keeps a table per event (minutes for
-- net.4.5.2.x64.etl under Wine, whose heap is slow).
local function count_of(path)
  local c <close> = assert(etw.Consumer { files = path })
  local seen = 0
  c:on(function() seen = seen + 1 end)
  local n, why = c:run()
  assert.equal("stopped", why)
  assert.equal(seen, n)
  return { n = n, stats = c:stats(), info = c:info() }
end

local function write_file(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

-- A fresh temporary file name, removed after the test.
local function temp_path() return util.temp_path(finally, "files", ".etl") end

-- A damaged copy of a sample in a temporary file, removed after the test.
local function damaged(name, edit)
  local bytes = util.read_file(S .. name)
  local path = temp_path()
  write_file(path, edit(bytes))
  return path
end

local function poke(bytes, off, fmt, v)
  return bytes:sub(1, off) .. string.pack(fmt, v) .. bytes:sub(off + string.packsize(fmt) + 1)
end

-- Run a consumer over `path`, collecting events and corruption reports.
local function read_damaged(path)
  local c <close> = assert(etw.Consumer { files = path })
  local got, errs = {}, {}
  c:on(function(ev) got[#got + 1] = ev.timestamp .. "/" .. tostring(ev.pid) .. "/" .. tostring(ev.tid) end)
  c:on_corrupt(function(msg, file, offset) errs[#errs + 1] = { msg = msg, file = file, offset = offset } end)
  local n, why = c:run()
  return { events = got, errors = errs, n = n, why = why, stats = c:stats(), info = c:info()[1] }
end

-- Keys (time/pid/tid) of the reference records selected by keep(r).
local function ref_keys(name, keep)
  local ref = reference(name)
  local keys = {}
  for _, r in ipairs(ref.recs) do
    if keep(r) then keys[#keys + 1] = filetime(ref.header, r.ts) .. "/" .. tostring(r.pid) .. "/" .. tostring(r.tid) end
  end
  return keys
end

-- Every key of `want` occurs in `got` (as a multiset).
local function missing(want, got)
  local have = {}
  for _, k in ipairs(got) do have[k] = (have[k] or 0) + 1 end
  local miss = {}
  for _, k in ipairs(want) do
    if (have[k] or 0) > 0 then have[k] = have[k] - 1 else miss[#miss + 1] = k end
  end
  return miss
end

-- ------------------------------------------------------------ specs

if not dir then
  describe("etw.Consumer{files=...}", function()
    pending("ETWLUA_SHARED is not set or has no DESIGN.md: the ETL samples are not available")
  end)
  return
end

describe("etw.Consumer{files=...} over the 12 samples", function()
  for _, name in ipairs(samples) do
    describe(name, function()
      if not exists(S .. name) then   -- ../shared is there: a missing sample is a failure
        it("is there", function() error("sample not found: " .. S .. name) end)
        return
      end

      it("delivers one event per reference record, without errors", function()
        local ref = reference(name)
        local r = count_of(S .. name)
        assert.equal(ref.scan.records, r.n)
        assert.equal(ref.scan.records, r.stats.events)
        assert.equal(0, r.stats.corrupt)
        assert.equal(0, r.stats.lost)
        assert.equal(ref.scan.records, r.info[1].records)
        assert.equal(0, r.info[1].errors)
      end)

      it("passes time, ids, cpu, provider, name, payload and extended items through, in time order", function()
        local ref = reference(name)
        if not ref.recs and package.config:sub(1, 1) == "\\" and exists(S .. name .. ".etlscan.jsonl.gz") then
          -- the platform, not ../shared: no gzip to read the reference under Windows
          pending("the reference is .jsonl.gz and Windows has no gzip: " .. name)
        end
        assert(ref.recs, "no readable etlscan.jsonl(.gz) for " .. name)
        local got = events_of(S .. name).events
        local want = in_time_order(ref.recs)
        assert.equal(#want, #got)
        local bad, shown, es_named = 0, {}, 0
        for k, w in ipairs(want) do
          local g = got[k]
          local why
          if g.ts ~= filetime(ref.header, w.ts) then why = "timestamp"
          elseif g.pid ~= w.pid or g.tid ~= w.tid then why = "pid/tid"
          elseif g.cpu ~= w.cpu then why = "cpu"
          elseif w.provider and g.provider_id ~= w.provider then why = "provider id"
          -- kernel records are named by the built-in MOF table (kernel_schema_spec checks them)
          elseif g.name ~= w.tl_event and not (w.tl_event == nil and g.header_kind ~= "event_header") then
            -- EventSource events: named by the manifest the file carries (eventsource_spec)
            if w.tl_event == nil and g.name then es_named = es_named + 1 else why = "name" end
          end
          if not why then why = compare_details(g, w) end
          if k > 1 and g.ts < got[k - 1].ts then why = "order" end
          if why then
            bad = bad + 1
            if #shown < 5 then
              shown[#shown + 1] = string.format("event %d (record 0x%x+0x%x): %s", k, w.buf, w.rec_off, why)
            end
          end
        end
        assert.equal(0, bad, table.concat(shown, "\n"))
        assert.equal(name == "perfview/net.4.5.2.x64.etl" and 122 or 0, es_named)
      end)

      it("c:info() reports the logfile header", function()
        local h = reference(name).header
        local scan = reference(name).scan
        local i = count_of(S .. name).info[1]
        assert.equal(S .. name, i.path)
        assert.equal(h.PointerSize, i.pointer_size)
        assert.equal(h.EventsLost, i.events_lost)
        assert.equal(h.BuffersLost, i.buffers_lost)
        assert.equal(h.LoggerName, i.logger_name)
        assert.equal(h.LogFileName, i.logfile_name)
        assert.equal(h.StartTime, i.start_filetime)
        assert.equal(h.EndTime, i.end_filetime)
        assert.equal(h.ProviderVersion, i.os_build)
        assert.equal(h.NumberOfProcessors, i.num_processors)
        assert.equal(h.PerfFreq, i.perf_freq)
        assert.equal(h.ReservedFlags, i.clock_type)
        assert.equal(scan.buffers, i.buffers)
        assert.equal(scan.compressed_buffers, i.compressed_buffers)
        assert.equal(scan.bytes, i.file_size)
        assert.equal(etw.iso_time(h.StartTime), i.start_time)
        assert.matches("^%d+%.%d+%.%d+$", i.os_version)
      end)
    end)
  end
end)

-- ------------------------------------------------------------ PerfView

-- "EVENT 2,942.306: solar_system/PrimitiveTypesTest PID=...; k=v; ..." lines.
local function parse_baseline(path)
  local events, counts = {}, {}
  for line in io.lines(path) do
    local ms, what, rest = line:match("^EVENT ([%d,%.]+): (.-) (PID=.*)$")
    if ms then
      local e = { ms = tonumber((ms:gsub(",", ""))), what = what, kv = {}, order = {} }
      for k, v in rest:gmatch("([%w_]+)=(.-); ") do
        e.kv[k] = v
        e.order[#e.order + 1] = k
      end
      events[#events + 1] = e
    else
      local w, n = line:match("^COUNT (.-):(%d+)$")
      if w then counts[w] = tonumber(n) end
    end
  end
  return events, counts
end

local function grouped(n)  -- 8192 -> "8,192", as TraceEvent prints integers
  local s = tostring(n)
  local sign, digits = s:match("^(%-?)(%d+)$")
  if not digits then return s end
  return sign .. digits:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
end

-- A FILETIME as TraceEvent prints a DateTime: "yy/MM/dd HH:mm:ss.fffffff" (UTC).
local function perfview_time(ft)
  local y, mo, d, h, mi, s, f = etw.iso_time(ft):match("^%d%d(%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)%.(%d+)Z$")
  return string.format("%s/%s/%s %s:%s:%s.%s", y, mo, d, h, mi, s, f)
end

-- Our value in TraceEvent's rendering; PerfView cuts long values to 20
-- characters + "...", so a "..." value is compared as a prefix.
local function same_as_baseline(want, got)
  local text
  if type(got) == "boolean" then text = got and "True" or "False"
  elseif math.type(got) == "integer" then text = grouped(got)
  else text = tostring(got) end
  local prefix = want:match("^(.*)%.%.%.$")
  if prefix then return text:sub(1, #prefix) == prefix, text end
  return text == want, text
end

describe("TraceLogging values vs PerfView", function()
  it("primitive-types.etl equals primitive-types.baseline.txt", function()
    local events, counts = parse_baseline(S .. "perfview/primitive-types.baseline.txt")
    local c <close> = assert(etw.Consumer { files = S .. "perfview/primitive-types.etl" })
    local evs = {}
    for ev in c:events() do evs[#evs + 1] = ev end
    -- PerfView shows one of the two EventTrace header records (the first)
    assert.equal(7, #evs)
    table.remove(evs, 2)
    assert.equal(#events, #evs)
    local t0 = evs[1].timestamp
    local n_tl = 0
    for k, b in ipairs(events) do
      local ev = evs[k]
      assert.near(b.ms, (ev.timestamp - t0) / 1e4, 0.0015)
      assert.equal(b.kv.PID, tostring(ev.pid))
      assert.equal(b.kv.TID, tostring(ev.tid))
      assert.equal(b.kv.ProceNum, tostring(ev.cpu))
      if ev.payload ~= nil then assert.equal(b.kv.DataLen, grouped(#ev.payload)) end
      if b.what == "solar_system/PrimitiveTypesTest" then
        n_tl = n_tl + 1
        assert.equal("solar_system", ev.provider)
        assert.equal("PrimitiveTypesTest", ev.name)
        assert.is_nil(ev.decode_error)
        local f = ev.fields
        local names = {}
        for name in pairs(f) do names[#names + 1] = name end
        local wanted = table.move(b.order, 6, #b.order, 1, {})  -- after PID..DataLen
        assert.same(wanted, names)
        for _, key in ipairs(wanted) do
          local want, got = b.kv[key], f[key]
          if key == "file_time_type" then
            got = perfview_time(got)
          elseif key == "system_time_type" then
            -- TraceEvent's SYSTEMTIME fraction is ".03" for all five events
            -- (the values carry 799, 239, 671, 48, 484 ms): compare to the second
            local st = got
            got = string.format("%02d/%02d/%02d %02d:%02d:%02d", st.year % 100, st.month,
                                st.day, st.hour, st.minute, st.second)
            want = want:sub(1, 17)
          end
          local ok, text = same_as_baseline(want, got)
          assert(ok, string.format("event %d field %s: PerfView %s, etwlua %s", k, key, want, text))
        end
      else
        assert.equal("Windows Kernel/EventTrace", b.what)
        assert.equal("68fdd900-4a3e-11d1-84f4-0000f80464e3", ev.provider_id)
      end
    end
    assert.equal(counts["solar_system/PrimitiveTypesTest"], n_tl)
  end)

  it("SelfDescribingSingleEvent.etl: field 0 of TestEvent is { \"b\":\"Hello\", \"c\":\"World!\" }", function()
    local c <close> = assert(etw.Consumer { files = S .. "perfview/SelfDescribingSingleEvent.etl" })
    local seen = {}
    c:on({ provider = "MySource", name = "TestEvent" }, function(ev) seen[#seen + 1] = ev end)
    c:run()
    assert.equal(1, #seen)
    local ev = seen[1]
    assert.equal("MySource", ev.provider)
    assert.equal(etw.providerid_from_name("MySource"), ev.provider_id)
    local a = ev.fields[1]
    assert.equal(a, ev.fields.a)
    local keys = {}
    for k, v in pairs(a) do keys[#keys + 1] = k .. "=" .. v end
    assert.same({ "b=Hello", "c=World!" }, keys)
    assert.truthy(ev:json():find('"fields":{"a":{"b":"Hello","c":"World!"}}', 1, true))
    assert.equal(23, c:stats().events)
  end)
end)

-- ------------------------------------------------------------ merge

describe("several files", function()
  -- The merge of two event lists by time, ties to the first.
  local function merge(a, b)
    local out, i, j = {}, 1, 1
    while i <= #a or j <= #b do
      if j > #b or (i <= #a and a[i].ts <= b[j].ts) then out[#out + 1] = a[i]; i = i + 1
      else out[#out + 1] = b[j]; j = j + 1 end
    end
    return out
  end

  it("the same file twice: every event twice, in time order", function()
    local one = events_of(S .. WU).events
    local two = events_of({ S .. WU, S .. WU }).events
    assert.equal(2 * #one, #two)
    assert.same(merge(one, one), two)
    for k = 2, #two do assert.is_true(two[k - 1].ts <= two[k].ts) end
  end)

  it("files given latest first still come out in time order", function()
    local early, late = S .. "perfview/gcevents.PerfViewData.etl", S .. "perfview/gcrundownevents.PerfViewData.clrRundown.etl"
    local a, b = events_of(early).events, events_of(late).events
    assert.is_true(a[#a].ts < b[1].ts)
    local merged = events_of({ late, early }).events
    assert.equal(#a + #b, #merged)
    for k, e in ipairs(a) do assert.same(e, merged[k]) end
    for k, e in ipairs(b) do assert.same(e, merged[#a + k]) end
  end)

  -- A copy of the WindowsUpdate sample whose clock starts `shift` ticks
  -- later (logfile header StartTime) and whose buffers say CPU `cpu`.
  local function shifted_copy(shift, cpu)
    return damaged(WU, function(bytes)
      local start = string.unpack("<i8", bytes, 368 + 1)   -- TRACE_LOGFILE_HEADER.StartTime
      bytes = poke(bytes, 368, "<i8", start + shift)
      for off = 0x1000, #bytes - 1, 0x1000 do bytes = poke(bytes, off + 0x28, "<I2", cpu) end
      return bytes
    end)
  end

  it("interleaves overlapping files event by event", function()
    local a = events_of(S .. WU).events
    for _, shift in ipairs({ 1, -1 }) do
      local copy = shifted_copy(shift, 5)
      local b = events_of(copy).events
      assert.equal(a[1].ts + shift, b[1].ts)
      assert.equal(5, b[3].cpu)   -- [1], [2]: the header buffer's records
      local merged = events_of({ S .. WU, copy }).events
      assert.same(merge(a, b), merged)
      local switches = 0
      for k = 2, #merged do
        if merged[k].cpu ~= merged[k - 1].cpu then switches = switches + 1 end
      end
      assert.is_true(switches > 40, switches .. " switches between the files")
    end
  end)

  it("equal timestamps keep the order the files were given", function()
    local copy = shifted_copy(0, 5)
    for _, order in ipairs({ { S .. WU, copy }, { copy, S .. WU } }) do
      local merged = events_of(order).events
      local first_cpu = events_of(order[1]).events[3].cpu
      assert.equal(164, #merged)
      for k = 3, #merged, 2 do   -- after the two header records of each file
        assert.equal(merged[k].ts, merged[k + 1].ts)
      end
      -- each pair of equal events: the first file's first
      local pairs_ok = 0
      for k = 1, #merged - 1 do
        local x, y = merged[k], merged[k + 1]
        if x.ts == y.ts and x.pid == y.pid and x.tid == y.tid and x.cpu ~= y.cpu then
          assert.equal(first_cpu, x.cpu)
          pairs_ok = pairs_ok + 1
        end
      end
      assert.is_true(pairs_ok >= 70, pairs_ok .. " pairs")
    end
  end)

  it("c:info() lists every file in order", function()
    local c <close> = assert(etw.Consumer { files = { S .. WU, S .. "perfview/primitive-types.etl" } })
    local info = c:info()
    assert.equal(2, #info)
    assert.equal(S .. WU, info[1].path)
    assert.equal("solar_system", info[2].logger_name)
    assert.equal(41, info[1].events_lost)
  end)
end)

-- ------------------------------------------------------------ the API on files

describe("etw.Consumer{files=...} API", function()
  it("takes a single path, table filters, function filters and c:events()", function()
    local path = S .. "perfview/primitive-types.etl"
    local c <close> = assert(etw.Consumer { files = path })
    local by_table, by_func, all = 0, 0, 0
    c:on({ provider = "solar_system", name = "PrimitiveTypesTest", level = 5 }, function(ev)
      assert.equal("etw.Event", getmetatable(ev).__name)
      by_table = by_table + 1
    end)
    c:on(function(ev) return ev.fields.boolean_type == true end, function() by_func = by_func + 1 end)
    c:on(function() all = all + 1 end)
    assert.same({ 7, "stopped" }, { c:run() })
    assert.equal(5, by_table)
    assert.equal(2, by_func)
    assert.equal(7, all)
    assert.equal(14, c:stats().delivered)
    -- at the end it stays at the end
    assert.same({ 0, "stopped" }, { c:run() })

    local c2 <close> = assert(etw.Consumer { files = { path } })
    local n = 0
    for ev in c2:events() do
      n = n + 1
      assert.is_number(ev.timestamp)
    end
    assert.equal(7, n)
  end)

  it("chooses the reader: ours ('etwlua') or the system's ('etw', Windows only)", function()
    local path = S .. "perfview/primitive-types.etl"
    local c <close> = assert(etw.Consumer { files = path, reader = "etwlua" })
    assert.same({ 7, "stopped" }, { c:run() })
    assert.equal("etwlua", c:info()[1].reader)
    local e, err, code = etw.Consumer { files = path, reader = "etw" }
    if e then   -- real Windows: OpenTraceW reads it
      assert.same({ 7, "stopped" }, { e:run() })
      assert.equal("etw", e:info()[1].reader)
      e:close()
    else
      assert.equal("UNSUPPORTED", code)
      assert.matches("reader 'etw' needs ETW %(Windows, not Wine%)", err)
    end
    assert.has_error(function() etw.Consumer { files = path, reader = "tdh" } end)
  end)

  it("c:stop() in a handler pauses; the next run goes on", function()
    local c <close> = assert(etw.Consumer { files = S .. WU })
    local n = 0
    c:on(function() n = n + 1; if n == 10 then c:stop() end end)
    local first, why = c:run()
    assert.equal("stopped", why)
    assert.equal(10, first)
    local rest = c:run()
    assert.equal(82, first + rest)
    assert.equal(82, n)
  end)

  it("max_events stops and resumes", function()
    local c <close> = assert(etw.Consumer { files = S .. WU })
    local n = 0
    c:on(function() n = n + 1 end)
    assert.same({ 30, "max_events" }, { c:run { max_events = 30 } })
    assert.same({ 52, "stopped" }, { c:run() })
    assert.equal(82, n)
  end)

  it("reports files it cannot open as nil, 'CODE: path: why', CODE", function()
    local missing_path = S .. "no-such-file.etl"
    local c, msg, code = etw.Consumer { files = { S .. WU, missing_path } }
    assert.is_nil(c)
    assert.equal("NOTFOUND", code)
    assert.equal("NOTFOUND: " .. missing_path .. ": ", msg:sub(1, #missing_path + 12))
    c, msg, code = etw.Consumer { files = S .. "README.md" }
    assert.is_nil(c)
    assert.equal("CORRUPT", code)
    assert.matches("^CORRUPT: .*README%.md: offset 0x%x+: not an ETL file", msg)
  end)

  it("rejects a bad 'files' option", function()
    assert.has_error(function() etw.Consumer { files = {} } end, "etw.Consumer: 'files' is an empty list")
    assert.has_error(function() etw.Consumer { files = { 1 } } end, "etw.Consumer: files[1] must be a path (string)")
    assert.has_error(function() etw.Consumer { files = 42 } end, "etw.Consumer: 'files' must be a path or a list of paths")
    assert.has_error(function() etw.Consumer { files = "x", session = "y" } end)
  end)

  it("closes: methods fail afterwards, close twice is fine", function()
    local c = assert(etw.Consumer { files = S .. WU })
    c:close()
    c:close()
    assert.has_error(function() c:run() end, "attempt to use a closed etw.Consumer")
    assert.has_error(function() c:info() end, "attempt to use a closed etw.Consumer")
  end)
end)

-- ------------------------------------------------------------ corrupt input

describe("damaged files", function()
  it("truncated inside a buffer: the events before the cut arrive, the error names the offset", function()
    local cut = 0x3000 + 2000
    local path = damaged(WU, function(b) return b:sub(1, cut) end)
    local r = read_damaged(path)
    assert.equal("stopped", r.why)
    local miss = missing(ref_keys(WU, function(x) return x.buf + 4096 <= cut end), r.events)
    assert.same({}, miss)
    assert.is_true(#r.events >= 26)
    assert.is_true(#r.errors >= 1)
    local e = r.errors[1]
    assert.equal(path, e.file)
    assert.equal(0x3000, e.offset)
    assert.matches("^offset 0x3000: file ends inside the buffer", e.msg)
    assert.equal(#r.errors, r.stats.corrupt)
    assert.equal(r.errors[#r.errors].msg, r.stats.last_corrupt)
    assert.equal(#r.errors, r.info.errors)
  end)

  it("a bad record size: that buffer's rest is skipped, the error names the record's offset", function()
    local at = 0x2000 + 664   -- the third record of buffer 2
    local path = damaged(WU, function(b) return poke(b, at, "<I2", 0xFFFF) end)
    local r = read_damaged(path)
    assert.equal("stopped", r.why)
    local want = ref_keys(WU, function(x) return x.buf ~= 0x2000 or x.rec_off < 664 end)
    assert.same({}, missing(want, r.events))
    assert.equal(#want, #r.events)
    assert.equal(1, #r.errors)
    assert.equal(at, r.errors[1].offset)
    assert.matches(string.format("^offset 0x%x: record size 65535", at), r.errors[1].msg)
  end)

  it("a bad buffer size: reported with the buffer's offset, every event still read", function()
    local path = damaged(WU, function(b) return poke(b, 0x4000, "<I4", 0x7FFFFFFF) end)
    local r = read_damaged(path)
    assert.equal(82, #r.events)
    assert.equal(1, #r.errors)
    assert.equal(0x4000, r.errors[1].offset)
    assert.matches("^offset 0x4000: BufferSize 2147483647", r.errors[1].msg)
  end)

  it("a damaged header: nil, 'CORRUPT: path: offset 0x...: why'", function()
    local path = damaged(WU, function(b) return poke(b, 0x48 + 4, "<I4", 0x12345678) end)
    local c, msg, code = etw.Consumer { files = path }
    assert.is_nil(c)
    assert.equal("CORRUPT", code)
    local prefix = "CORRUPT: " .. path .. ": offset 0x"
    assert.equal(prefix, msg:sub(1, #prefix))
  end)

  it("errors reach c:events() users through on_corrupt too", function()
    local path = damaged(WU, function(b) return poke(b, 0x2000 + 664, "<I2", 0xFFFF) end)
    local c <close> = assert(etw.Consumer { files = path })
    local errs = 0
    c:on_corrupt(function() errs = errs + 1 end)
    local n = 0
    for _ in c:events() do n = n + 1 end
    assert.equal(72, n)
    assert.equal(1, errs)
    assert.equal(1, c:stats().corrupt)
  end)

  it("random byte flips and cuts never crash; errors are counted, reading ends normally", function()
    math.randomseed(20240611)
    local names = { WU, "perfview/SelfDescribingSingleEvent.etl", "airbus-etl-parser/lxcore_kernel.etl",
                    "perfview/primitive-types.etl" }
    local path = temp_path()
    local opened, with_errors = 0, 0
    for round = 1, 160 do
      local orig = util.read_file(S .. names[round % #names + 1])
      local bytes = orig
      for _ = 1, math.random(1, 8) do
        local at = math.random(1, #bytes)
        bytes = bytes:sub(1, at - 1) .. string.char(math.random(0, 255)) .. bytes:sub(at + 1)
      end
      if round % 5 == 0 then bytes = bytes:sub(1, math.random(1, #bytes)) end
      write_file(path, bytes)
      local c, msg = etw.Consumer { files = path }
      if c then
        opened = opened + 1
        local errs = 0
        c:on(function(ev) local _ = ev.name, ev.fields, tostring(ev), ev:json() end)
        c:on_corrupt(function(m, file, offset)
          errs = errs + 1
          assert.equal(path, file)
          assert.equal(offset, tonumber(m:match("^offset 0x(%x+)"), 16))
        end)
        local _, why = c:run()
        assert.equal("stopped", why)
        assert.equal(errs, c:stats().corrupt)
        if errs > 0 then with_errors = with_errors + 1 end
        c:close()
      else
        assert.matches("^%u+: ", msg)
      end
    end
    assert.is_true(opened > 40, "opened " .. opened)
    assert.is_true(with_errors > 10, "with errors " .. with_errors)
  end)
end)
