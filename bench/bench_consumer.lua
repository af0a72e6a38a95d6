-- bench_consumer.lua: a C producer process (examples/native_provider.c)
-- writes events as fast as it can while this process consumes them into a
-- trivial Lua handler: events/s (consumer CPU time), events lost, and the
-- RSS of both processes. The session's rings (64 MB) hold the whole burst,
-- so the producer, much faster than any Lua handler, loses nothing.
-- Printed, never asserted. Run: build/etwlua bench/bench_consumer.lua BUILD_DIR [EVENTS]
local etw = require "etw"

local build = arg[1] or "build"
local total = math.tointeger(tonumber(arg[2] or "400000"))

local function rss_kb(pid)
  local f = io.open("/proc/" .. pid .. "/status")
  if not f then return nil end
  local kb = f:read("a"):match("VmRSS:%s+(%d+)")
  f:close()
  return tonumber(kb)
end

local big = { flush_ms = 50, buffer_kb = 1024, min_buffers = 64 }

local function run(label, handler, sopts, count)
  local total = count or total
  local name = "bench-consumer-" .. etw.pid()
  local s <close> = etw.Session(name, sopts)
  assert(s:start())
  assert(s:enable("EtwLua.Native", { level = 5 }))
  local c <close> = assert(etw.Consumer { session = name })
  local seen = 0
  c:on(function(ev) seen = seen + 1; handler(ev) end)
  local lost = 0
  c:on_lost(function(n) lost = lost + n end)
  local out = os.tmpname()
  assert(os.execute(build .. "/native_provider " .. total .. " > " .. out .. " &"))
  local t0, child_rss = os.clock(), 0
  local wall0 = os.time()
  while seen + lost < total and os.time() - wall0 < 60 do
    c:run { timeout_ms = 200 }
  end
  local cpu = os.clock() - t0
  local log = io.open(out):read("a")
  os.remove(out)
  child_rss = tonumber(log:match("VmRSS:%s+(%d+)")) or 0
  print(string.format("%-34s %9.2f M events/s (consumer CPU time)  lost %d of %d  RSS consumer %d KB, producer %d KB",
    label, seen / cpu / 1e6, lost, total, rss_kb(etw.pid()) or 0, child_rss))
end

run("Lua handler, no field access", function() end, big)
run("Lua handler reading ev.fields.i", function(ev) local _ = ev.fields.i end, big)

-- c:on with a table filter instead of one handler for every event
local function run_on(label, filter, handler, sopts, count)
  local total = count or total
  local name = "bench-consumer-" .. etw.pid()
  local s <close> = etw.Session(name, sopts)
  assert(s:start())
  assert(s:enable("EtwLua.Native", { level = 5 }))
  local c <close> = assert(etw.Consumer { session = name })
  local lost, delivered = 0, 0
  c:on(filter, function(...) delivered = delivered + 1; handler(...) end)
  c:on_lost(function(n) lost = lost + n end)
  local out = os.tmpname()
  assert(os.execute(build .. "/native_provider " .. total .. " > " .. out .. " &"))
  local t0, wall0 = os.clock(), os.time()
  while c:stats().events + lost < total and os.time() - wall0 < 60 do
    c:run { timeout_ms = 200 }
  end
  local cpu = os.clock() - t0
  os.remove(out)
  print(string.format("%-34s %9.2f M events/s scanned (consumer CPU time)  %d handled, lost %d of %d",
    label, c:stats().events / cpu / 1e6, delivered, lost, total))
end
run_on("2-field projection {i, msg}", { fields = { "i", "msg" } }, function(_, i, m) local _ = i, m end, big)
run_on("C-side where, 1% pass", { where = { pid_low = { "<", 655 } } }, function() end, big)
run("default buffers (2 MB ring), 10k events", function() end, nil, 10000)
