-- bench_manifest.lua: decoding manifest events into ev.fields, next to
-- TraceLogging events of the same shape, in one run. Printed, never
-- asserted. Run: build/etwlua bench/bench_manifest.lua
--
-- 1. net.4.5.2.x64.etl with ClrEtwAll.man + SystemEvents.man loaded (the
--    kernel table and the trace's EventSource manifests apply anyway):
--    records/s of the whole file with every field of every record read.
-- 2. The same file's .NET runtime events again, each re-encoded as a
--    TraceLogging event with the same field types and values (EventBuilder,
--    written to a temporary ETL file by a file-mode session): per event,
--    the cost of reading ev.fields (ns, handler that reads every field minus
--    an empty one, both filtered to that provider in C), manifest vs
--    TraceLogging, and their ratio.
local etw = require "etw"

local shared = os.getenv("ETWLUA_SHARED")
if not shared or shared == "" then shared = "../shared" end
local NET = shared .. "/etl-samples/perfview/net.4.5.2.x64.etl"
local MANS = { shared .. "/manifests/ClrEtwAll.man", shared .. "/manifests/SystemEvents.man" }
local CLR = "Microsoft-Windows-DotNETRuntime"
local CLR_ID = "e13c0d23-ccbc-4e12-931b-d9cc2eee27e4"   -- C filters match manifest events by GUID

local fh = io.open(NET, "rb")
if not fh then print("skipped: " .. NET .. " not found (set ETWLUA_SHARED)") return end
fh:close()
assert(etw.load_manifest(MANS))

local function walk(t)
  for i = 1, #t do
    local v = t[i]
    if type(v) == "table" then walk(v) end
  end
end

local function read_all(ev) walk(ev.fields) end
local function nothing() end

-- Best of `runs`: seconds and events handled.
local function best(path, filter, handler, runs)
  local bt, bn = math.huge, 0
  for _ = 1, runs do
    collectgarbage()
    local t0 = os.clock()
    local c <close> = assert(etw.Consumer { files = path })
    local n = 0
    if filter then c:on(filter, function(ev) n = n + 1 handler(ev) end)
    else c:on(function(ev) n = n + 1 handler(ev) end) end
    c:run()
    local t = os.clock() - t0
    if t < bt then bt, bn = t, n end
  end
  return bt, bn
end

-- 1. the whole file, every field read; next to an empty handler (the cost
-- of reading the file: LZ77 buffers, records, events)
local t, n = best(NET, nil, read_all, 5)
local te = best(NET, nil, nothing, 5)
print(string.format("net.4.5.2.x64.etl, manifests loaded, every field of every record read:\n" ..
                    "  %d records  %.1f ms  %.2f M records/s (target >= 1.5); empty handler: %.2f M records/s",
                    n, t * 1e3, n / t / 1e6, n / te / 1e6))

-- 2. the TraceLogging twin of the .NET runtime events: each field by the
-- Lua type of its value (integers as int64, strings as UTF-16 like the
-- manifest's UnicodeString, arrays of integers as int64 arrays); events
-- with structs or other values are left out (counted)
local function add_of(v)
  local t = type(v)
  if math.type(v) == "integer" then return "add_int64" end
  if t == "number" then return "add_float64" end
  if t == "string" then return "add_zstr16" end
  if t == "boolean" then return "add_bool32" end
  if t == "table" and #v > 0 and math.type(v[1]) == "integer" then return "add_int64_seq" end
  if t == "table" and next(v) == nil then return "add_int64_seq" end
  return nil
end

-- The events as {name, {method, field name, value}...}.
local function collect()
  local c <close> = assert(etw.Consumer { files = NET })
  local out, skipped, fields = {}, 0, 0
  c:on({ provider = CLR_ID }, function(ev)
    if not ev.name then skipped = skipped + 1 return end
    local e = { name = ev.name }
    for k, v in pairs(ev.fields) do
      local m = add_of(v)
      if not m then skipped = skipped + 1 return end
      e[#e + 1] = { m, k, v }
    end
    fields = fields + #e
    out[#out + 1] = e
  end)
  c:run()
  return out, skipped, fields
end

local function write_twin(events, path)
  local name = "bench-manifest-" .. etw.pid()
  local p <close> = etw.Provider(CLR)
  local s <close> = etw.Session(name, { mode = "file", file = path, buffer_kb = 1024, min_buffers = 64 })
  assert(s:start())
  assert(s:enable(CLR, { level = 5 }))
  local eb = etw.EventBuilder()
  for _, e in ipairs(events) do
    eb:reset(e.name, { level = 4, keyword = 1 })
    for _, a in ipairs(e) do eb[a[1]](eb, a[2], a[3]) end
    p:write(eb)
  end
  s:stop()
  return s:stats()
end

local events, skipped, nfields = collect()
local twin = os.tmpname()
local st = write_twin(events, twin)
print(string.format("\n%s events of net.4.5.2.x64.etl: %d re-encoded as TraceLogging (%.1f fields " ..
                    "each; %d left out: structs, other values), %d written (%d lost)", CLR, #events,
                    nfields / #events, skipped, st.written or 0, st.lost or 0))

-- ns per event for reading ev.fields: (every field read - empty handler) / events
local function field_cost(path, filter)
  local te, ne = best(path, filter, nothing, 5)
  local tf, nf = best(path, filter, read_all, 5)
  assert(ne == nf)
  return (tf - te) * 1e9 / nf, nf, tf * 1e9 / nf
end

local mc, mn, mt = field_cost(NET, { provider = CLR_ID })
local tc, tn, tt = field_cost(twin, { provider = etw.providerid_from_name(CLR) })
print(string.format("  manifest     %6d events  ev.fields read: %6.0f ns/event  (whole handler pass %6.0f ns/event)",
                    mn, mc, mt))
print(string.format("  TraceLogging %6d events  ev.fields read: %6.0f ns/event  (whole handler pass %6.0f ns/event)",
                    tn, tc, tt))
print(string.format("  ratio manifest / TraceLogging: %.2f (ev.fields)", mc / tc))
os.remove(twin)
