-- manifest_spec.lua: manifest schemas from Lua: etw.load_manifest,
-- etw.Consumer{manifests=}, NO_SCHEMA for events no manifest describes,
-- ev.name / ev.provider / ev.fields / ev:mapped of HTTP_Server.etl decoded
-- with its manifest (read in place from $ETWLUA_SHARED). Manifests loaded
-- into a Lua state stay for its later consumers, so the test without a
-- schema runs first.
local etw = require "etw"
local testutil = require "testutil"
local B = require "baseline"

local S = testutil.shared_dir()
local TX = S and S .. "/etl-samples/tx/"
local HTTP_ID = "dd5ef90a-6398-47a4-ad34-4dcecdef795f"

local function write_tmp(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

describe("manifest schemas", function()
  if not testutil.shared_or_pending(pending) then return end

  it("an event no manifest describes: name nil, payload kept, decode_error NO_SCHEMA", function()
    local c = assert(etw.Consumer { files = TX .. "HTTP_Server.etl" })
    local seen
    for ev in c:events() do
      if ev.provider_id == HTTP_ID then seen = ev break end
    end
    c:close()
    assert.is_not_nil(seen)
    assert.is_nil(seen.name)
    assert.are.equal("NO_SCHEMA: " .. HTTP_ID .. "/21/0", seen.decode_error)
    assert.are.equal(72, #seen.payload)
  end)

  it("etw.load_manifest: missing file NOTFOUND, a broken one CORRUPT naming file, line and rule", function()
    local ok, msg, code = etw.load_manifest("/nonexistent/x.man")
    assert.is_nil(ok)
    assert.are.equal("NOTFOUND", code)
    assert.matches("^NOTFOUND: /nonexistent/x.man: no such manifest", msg)
    local bad = write_tmp("<instrumentationManifest>\n<instrumentation><events>\n<provider name='P' guid='{11111111-2222-3333-4444-555555555555}'>\n<events><event value='1' template='Nope'/></events></provider></events></instrumentation></instrumentationManifest>\n")
    ok, msg, code = etw.load_manifest(bad)
    assert.is_nil(ok)
    assert.are.equal("CORRUPT", code)
    assert.are.equal("CORRUPT: " .. bad .. ":4: event 1: template 'Nope' is not defined", msg)
    -- the consumer refuses it before reading anything
    local c
    c, msg, code = etw.Consumer { files = TX .. "HTTP_Server.etl", manifests = { bad } }
    assert.is_nil(c)
    assert.are.equal("CORRUPT", code)
    assert.matches(":4: event 1: template 'Nope'", msg, 1, true)
    os.remove(bad)
    local xml = write_tmp("<instrumentationManifest><oops></instrumentationManifest>")
    ok, msg = etw.load_manifest(xml)
    assert.matches(":1: not well-formed XML: mismatched tag", msg, 1, true)
    os.remove(xml)
  end)

  it("misuse raises", function()
    assert.has_error(function() etw.load_manifest(42) end,
      "etw.load_manifest: argument 1 must be a path or a list of paths (manifest files or directories)")
    assert.has_error(function() etw.load_manifest({ "a.man", 7 }) end,
      "etw.load_manifest: argument 1: item 2 is not a path (a string)")
    assert.has_error(function() etw.Consumer { files = TX .. "HTTP_Server.etl", manifests = true } end)
  end)

  it("a directory loads its .man files and lists their providers", function()
    local provs = assert(etw.load_manifest(S .. "/manifests/"))
    local by = {}
    for _, p in ipairs(provs) do by[p.name] = p end
    assert.is_true(by["Microsoft-Windows-Kernel-Process"].events > 0)
    assert.is_true(by["Microsoft-Windows-Kernel-File"].events > 0)
    assert.is_true(by["Microsoft-Windows-Kernel-Network"].events > 0)
    assert.are.equal("22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716", by["Microsoft-Windows-Kernel-Process"].id)
    assert.are.equal("e13c0d23-ccbc-4e12-931b-d9cc2eee27e4", by["Microsoft-Windows-DotNETRuntime"].id)
    assert.matches("ClrEtwAll.man$", by["Microsoft-Windows-DotNETRuntime"].file)
  end)

  it("HTTP_Server.etl: all 2,041 events decode by HTTP_Server.man", function()
    local c = assert(etw.Consumer { files = TX .. "HTTP_Server.etl", manifests = TX .. "HTTP_Server.man" })
    local n, named, first, logging = 0, 0, nil, nil
    for ev in c:events() do
      if ev.provider_id == HTTP_ID then
        n = n + 1
        assert.are.equal("Microsoft-Windows-HttpService", ev.provider)
        assert.is_nil(ev.decode_error)
        if ev.name then named = named + 1 end
        first = first or ev
        if ev.id == 51 and not logging then logging = ev end
      end
    end
    c:close()
    assert.are.equal(2041, n)
    assert.are.equal(2041, named)
    -- the first event as Windows' EVTX export has it
    assert.are.equal("HTTP Connection Trace Task", first.name)
    assert.are.equal(0xfffffa8003e92010, first.fields.ConnectionObj)
    assert.are.equal(28, first.fields.LocalAddrLength)
    assert.are.equal("17000050000000002001489800000fff00005efe0a78109d00000000",
      testutil.tohex(first.fields.LocalAddr))
    -- value maps: the number stays in fields, the name comes from ev:mapped
    assert.are.equal(0, logging.fields.Type)
    assert.are.equal("ResponseLogging", logging:mapped("Type"))
    assert.are.equal("W3C", logging:mapped("Format"))
    assert.is_nil(logging:mapped("SiteId"))
    assert.is_nil(logging:mapped("NoSuchField"))
    assert.matches("Type=0(ResponseLogging) Group=0(Site) Format=0(W3C)", tostring(logging), 1, true)
    assert.matches('"Type":0,"Type.mapped":"ResponseLogging"', logging:json(), 1, true)
  end)

  -- counts measured independently (../shared/manifests/README.md): every
  -- event of a kind the 2019 .NET manifest has decodes without error; the
  -- newer GC event versions it lacks are NO_SCHEMA, listed by key
  local function tally(file)
    local c = assert(etw.Consumer { files = S .. "/etl-samples/perfview/" .. file })
    local decoded, errors, no_schema = 0, {}, {}
    for ev in c:events() do
      if ev.header_kind == "event_header" then
        local de = ev.decode_error
        if de and de:match("^NO_SCHEMA: ") then
          local key = de:sub(12)
          no_schema[key] = (no_schema[key] or 0) + 1
        elseif de then
          errors[#errors + 1] = de
        elseif ev.name and ev.fields then
          decoded = decoded + 1
        end
      end
    end
    c:close()
    return decoded, errors, no_schema
  end

  it(".NET runtime events decode by ClrEtwAll.man, Kernel-* ones by SystemEvents.man", function()
    assert(etw.load_manifest({ S .. "/manifests/ClrEtwAll.man", S .. "/manifests/SystemEvents.man" }))
    local CLR = "e13c0d23-ccbc-4e12-931b-d9cc2eee27e4/"
    local n, errors, nos = tally("gcevents.PerfViewData.etl")
    assert.are.equal(51, n)
    assert.are.same({}, errors)
    assert.are.same({ [CLR .. "10/4"] = 12, [CLR .. "205/4"] = 2, [CLR .. "4/2"] = 2,
      [CLR .. "208/0"] = 1, [CLR .. "209/0"] = 1 }, nos)
    n, errors, nos = tally("gcrundownevents.PerfViewData.clrRundown.etl")
    assert.are.equal(109, n)
    assert.are.same({}, errors)
    assert.are.same({ ["a669021c-c450-4609-a035-5af59af4df18/10/0"] = 1 }, nos)
    -- 67,368 CLR + 641 Kernel-File/-EventTracing/-Process events, and 122
    -- EventSource events (108 PerfView, 8 TplEventSource, 6 FrameworkEventSource)
    -- decoded by the manifests the file carries (eventsource_spec)
    n, errors = tally("net.4.5.2.x64.etl")
    assert.are.equal(67368 + 641 + 122, n)
    assert.are.same({}, errors)
  end)

  -- TraceEvent's names -> ours, for the comparison with PerfView's baselines
  local CLR = { ["Microsoft-Windows-DotNETRuntime"] = true, ["Microsoft-Windows-DotNETRuntimeRundown"] = true,
                ["Microsoft-Windows-DotNETRuntimePrivate"] = true }
  local CLR_OPTS = {
    -- field renames (TraceEvent -> the manifest's name)
    field_renames = { Promoted = "Bytes" },
    -- event renames (TraceEvent's Task -> the manifest's task name)
    event_renames = {
      ["Microsoft-Windows-DotNETRuntimeRundown/TieredCompilationRundown"] = "TieredCompilation",
      ["Microsoft-Windows-DotNETRuntime/GarbageCollection"] = "GC",
    },
    -- fields TraceEvent derives (not in the payload)
    derived = { TypeName = true, ModuleILFileName = true, PayloadLength = true,
                ["GC/HeapStats.TotalHeapSize"] = true, ["GC/HeapStats.TotalPromoted"] = true,
                ["GC/HeapStats.Depth"] = true },
    -- the 2019 manifest's template for this event (v2) has no fields; TraceEvent's parser has them
    no_fields = { ["Microsoft-Windows-DotNETRuntimePrivate/GC/PerHeapHistory"] = true },
  }

  local function baseline(base, etl, want_compared, want_no_schema)
    local lines = {}
    for line in io.lines(S .. "/etl-samples/perfview/" .. base) do
      local l = B.parse(line, CLR)
      if l then lines[#lines + 1] = l end
    end
    local r = B.compare(lines, B.events(etw, S .. "/etl-samples/perfview/" .. etl, CLR), CLR_OPTS)
    io.write(string.format("\n  %s: CLR events compared %d, unmatched %d, NO_SCHEMA %d\n", base,
                           r.compared, #r.unmatched, #r.no_schema))
    for _, x in ipairs(r.no_schema) do io.write("    NO_SCHEMA (version not in the 2019 manifest): ", x, "\n") end
    for _, x in ipairs(r.named) do io.write("    not compared: ", x, "\n") end
    for _, x in ipairs(r.unmatched) do io.write("    unmatched: ", x, "\n") end
    assert.are.equal(want_compared, r.compared)
    assert.are.same({}, r.unmatched)
    assert.are.equal(want_no_schema, #r.no_schema)
  end

  it("every CLR event line of PerfView's baselines has an etwlua event with its name and field values", function()
    -- ClrEtwAll.man is loaded into this state by the test above
    io.write("\n  TraceEvent field renames: ")
    for k, v in pairs(CLR_OPTS.field_renames) do io.write(k, "->", v, " ") end
    io.write("\n  TraceEvent event renames: ")
    for k, v in pairs(CLR_OPTS.event_renames) do io.write(k, "->", v, " ") end
    baseline("gcevents.baseline.txt", "gcevents.PerfViewData.etl", 51, 11)
    baseline("gcrundownevents.baseline.txt", "gcrundownevents.PerfViewData.clrRundown.etl", 24, 1)
    baseline("net.4.5.2.x64.baseline.txt", "net.4.5.2.x64.etl", 218, 0)
  end)
end)
