-- eventsource_spec.lua: EventSource manifests carried in a trace (event
-- 0xFFFE, opcode 254; src/schema/sch_es.c, src/lua/lschema.c): the
-- EventSource events of net.4.5.2.x64.etl (PerfView's own provider
-- a8a71ac1-..., TplEventSource, FrameworkEventSource) decode by the
-- manifests the file carries, with no manifest loaded, and match every line
-- PerfView's baseline (TraceEvent) has for them. Chunking, broken and
-- partial manifests: tests/unit/test_eventsource.c.
local etw = require "etw"
local testutil = require "testutil"
local B = require "baseline"

local S = testutil.shared_dir()
local PV = S and S .. "/etl-samples/perfview/"
local PERFVIEW = "a8a71ac1-040f-54a2-07ca-00a89b5ab761"
local ES = { PerfView = true, ["System.Threading.Tasks.TplEventSource"] = true,
             ["System.Diagnostics.Eventing.FrameworkEventSource"] = true }

describe("EventSource manifests in the trace", function()
  if not testutil.shared_or_pending(pending) then return end

  it("PerfView's provider: every event named, fields decoded, no NO_SCHEMA", function()
    local c = assert(etw.Consumer { files = PV .. "net.4.5.2.x64.etl" })
    local n, by, log, manifest = 0, {}, nil, nil
    for ev in c:events() do
      if ev.provider_id == PERFVIEW then
        n = n + 1
        assert.is_nil(ev.decode_error)
        assert.are.equal("PerfView", ev.provider)
        by[ev.name] = (by[ev.name] or 0) + 1
        if ev.name == "PerfViewLog" and not log then log = ev.fields end
        if ev.name == "ManifestData" and not manifest then manifest = ev.fields end
      end
    end
    c:close()
    assert.are.equal(108, n)
    assert.are.equal(2, by.ManifestData)
    assert.are.equal(53, by.PerfViewLog)
    assert.are.equal("Turning on more CLR GC, JScript and ASP.NET Events.", log.message)
    assert.are.same({ Format = 1, MajorVersion = 1, MinorVersion = 0, Magic = 0x5B, TotalChunks = 1,
                      ChunkNumber = 0 },
      { Format = manifest.Format, MajorVersion = manifest.MajorVersion, MinorVersion = manifest.MinorVersion,
        Magic = manifest.Magic, TotalChunks = manifest.TotalChunks, ChunkNumber = manifest.ChunkNumber })
  end)

  it("an event before its provider's manifest stays NO_SCHEMA; a second consumer starts afresh", function()
    -- the manifest of FrameworkEventSource comes at 170.9 ms; its events later: all decode
    for _ = 1, 2 do
      local c = assert(etw.Consumer { files = PV .. "net.4.5.2.x64.etl" })
      local named = 0
      for ev in c:events() do
        if ev.provider == "System.Diagnostics.Eventing.FrameworkEventSource" and ev.name ~= "ManifestData" then
          assert.is_nil(ev.decode_error)
          named = named + 1
        end
      end
      c:close()
      assert.are.equal(5, named)
    end
  end)

  it("every EventSource line of PerfView's baseline has an etwlua event with its name and fields", function()
    local lines = {}
    for line in io.lines(PV .. "net.4.5.2.x64.baseline.txt") do
      local l = B.parse(line, ES)
      if l then lines[#lines + 1] = l end
    end
    local r = B.compare(lines, B.events(etw, PV .. "net.4.5.2.x64.etl", ES),
                        { derived = { PayloadLength = true } })
    io.write(string.format("\n  baseline EventSource events compared: %d, unmatched: %d\n", r.compared,
                           #r.unmatched))
    io.write("  shown by TraceEvent's own enum names (not compared): ", table.concat(r.named, ", "), "\n")
    for _, u in ipairs(r.unmatched) do io.write("  unmatched: ", u, "\n") end
    assert.are.equal(42, r.compared)
    assert.are.same({}, r.unmatched)
    assert.are.same({}, r.no_schema)
  end)
end)
