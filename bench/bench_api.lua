-- bench_api.lua: ns per operation for the Lua API, with an empty Lua->C call
-- measured in the same run as the baseline. Printed, never asserted.
-- Run: build/etwlua bench/bench_api.lua
local etw = require "etw"

local clock = os.clock

-- Best of 5 runs of n iterations of f(i), in ns per iteration.
local function best(n, f)
  local b = math.huge
  for _ = 1, 5 do
    local t0 = clock()
    f(n)
    local per = (clock() - t0) * 1e9 / n
    if per < b then b = per end
  end
  return b
end

local results = {}
local function report(label, ns, baseline)
  results[#results + 1] = { label, ns }
  if baseline then
    print(string.format("%-48s %8.1f ns  (%.2fx the empty call)", label, ns, ns / baseline))
  else
    print(string.format("%-48s %8.1f ns", label, ns))
  end
end

local p = etw.Provider("EtwLua.Bench")
local eb = etw.EventBuilder()
local N = 2000000

-- Baseline: the cheapest C function call a method call can be, on the same
-- userdata: rawequal(p, p) is a C function doing one comparison.
local empty = best(N, function(n)
  local f = rawequal
  for _ = 1, n do f(p, p) end
end)
report("baseline: empty Lua->C call rawequal(p, p)", empty)

report("disabled p:is_enabled(5, 1)", best(N, function(n)
  for _ = 1, n do p:is_enabled(5, 1) end
end), empty)

report("disabled p:is_enabled() (defaults)", best(N, function(n)
  for _ = 1, n do p:is_enabled() end
end), empty)

-- What the interpreter alone costs for six method calls with these
-- arguments: eb:name() does next to nothing. The build below cannot go
-- below this.
report("floor: 6 calls of a trivial method eb:name()", best(N // 4, function(n)
  for i = 1, n do
    eb:name("Bench"); eb:name("a", i); eb:name("b", i)
    eb:name("c", i); eb:name("d", i); eb:name("e", "hello-etw")
  end
end), empty)

local function build(i)
  eb:reset("Bench")
  eb:add_int32("a", i)
  eb:add_int64("b", i)
  eb:add_uint32("c", i)
  eb:add_uint64("d", i)
  eb:add_str8("e", "hello-etw")
end
report("build + encode 5-field event from Lua", best(N // 4, function(n)
  for i = 1, n do build(i) end
end), empty)

report("build + encode + p:write (no session)", best(N // 4, function(n)
  for i = 1, n do build(i); p:write(eb) end
end), empty)

-- Templates (p:event): the same 5-field event, metadata built once, one
-- call per event. Nobody listening first: the call returns after the
-- enabled check, without reading its arguments.
local tmpl = p:event("Bench", nil, {"a", "int32"}, {"b", "int64"}, {"c", "uint32"},
                     {"d", "uint64"}, {"e", "str8"})
local nobody = best(N, function(n)
  for i = 1, n do tmpl(i, i, i, i, "hello-etw") end
end)
report("template: Req(5 values), nobody listening", nobody, empty)
report("template: Req:is_enabled(), nobody listening", best(N, function(n)
  for _ = 1, n do tmpl:is_enabled() end
end), empty)
report("template: encode only, Req:bytes(5 values)", best(N // 4, function(n)
  for i = 1, n do tmpl:bytes(i, i, i, i, "hello-etw") end
end), empty)

-- With a live session and consumer: rounds of writes into big rings,
-- drained between rounds (not timed); builder path and template in the
-- same session.
local function live(label, write)
  local s <close> = etw.Session("bench-api-" .. etw.pid(),
                                { flush_ms = 50, buffer_kb = 1024, min_buffers = 64 })
  assert(s:start())
  s:enable("EtwLua.Bench", { level = 5 })
  local c <close> = assert(etw.Consumer { session = s.name })
  c:on(function() end)
  local n, b = N // 8, math.huge
  for _ = 1, 5 do
    local t0 = clock()
    write(n)
    local per = (clock() - t0) * 1e9 / n
    if per < b then b = per end
    repeat local got = c:run { timeout_ms = 0 } until got == 0
  end
  return b
end
local live_builder = live("builder", function(n)
  for i = 1, n do build(i); p:write(eb) end
end)
report("live session: build + encode + p:write", live_builder, empty)
local live_tmpl = live("template", function(n)
  for i = 1, n do tmpl(i, i, i, i, "hello-etw") end
end)
report("live session: template Req(5 values)", live_tmpl, empty)
print(string.format("%-48s %8.2fx", "  template / builder path, live session", live_tmpl / live_builder))

-- Issue 13's targets, as ratios to the anchors of this run: the empty
-- Lua->C call above and the LTTng-UST tracepoint that scripts/bench
-- measured just before (bench/lttng_anchor.sh; ETWLUA_BENCH_ANCHOR_NS).
local anchor = tonumber(os.getenv("ETWLUA_BENCH_ANCHOR_NS") or "")
local function target(label, ns, ratio, base, goal)
  print(string.format("target: %-46s %8.1f ns = %5.2fx %s (target <= %s)", label, ns, ratio,
                      base, goal))
end
if anchor then
  target("Lua template write, 5 fields, live consumer", live_tmpl, live_tmpl / anchor,
         "LTTng-UST", "1.0x")
else
  print(string.format("target: %-46s %8.1f ns (no LTTng-UST anchor: %s)",
                      "Lua template write, 5 fields, live consumer", live_tmpl,
                      os.getenv("ETWLUA_BENCH_ANCHOR_NONE") or "not run by scripts/bench"))
end
target("Lua template write, nobody listening", nobody, nobody / empty, "empty Lua->C call", "1.5x")

build(1)
report("decode it: eb:decode(p) + read 5 fields", best(N // 8, function(n)
  for _ = 1, n do
    local f = eb:decode(p).fields
    local _ = f.a, f.b, f.c, f.d, f.e
  end
end), empty)

-- What a consumer does per event: make an etw.Event from a record's blobs
-- (etwL_pushevent), hand it to a handler, which may read one field.
local _, meta, data = eb:bytes()
local function handler_nothing(ev) end
local function handler_field(ev) local _ = ev.fields.a end
report("eb:decode() into a handler, no field access", best(N // 4, function(n)
  for _ = 1, n do handler_nothing(eb:decode()) end
end), empty)
report("eb:decode() into handler reading ev.fields.a", best(N // 8, function(n)
  for _ = 1, n do handler_field(eb:decode()) end
end), empty)
report("consumer-like: decode_blobs() + read 1 field", best(N // 8, function(n)
  local decode_blobs = etw.decode_blobs
  for _ = 1, n do handler_field(decode_blobs(meta, data)) end
end), empty)

return results
