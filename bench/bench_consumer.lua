-- bench_consumer.lua: a C producer process (examples/native_provider.c)
-- writes events as fast as it can while this process consumes them into a
-- trivial Lua handler: events/s, events lost, and the RSS of both processes.
-- Printed, never asserted. Run: build/etwlua bench/bench_consumer.lua BUILD_DIR [EVENTS]
local etw = require "etw"

local build = arg[1] or "build"
local total = math.tointeger(tonumber(arg[2] or "2000000"))

local function rss_kb(pid)
  local f = io.open("/proc/" .. pid .. "/status")
  if not f then return nil end
  local kb = f:read("a"):match("VmRSS:%s+(%d+)")
  f:close()
  return tonumber(kb)
end

local function run(label, handler)
  local name = "bench-consumer-" .. etw.pid()
  local s <close> = etw.Session(name, { flush_ms = 50 })
  assert(s:start())
  assert(s:enable("EtwLua.Native", { level = 5 }))
  local c <close> = assert(etw.Consumer { session = name })
  local seen = 0
  c:on(function(ev) seen = seen + 1; handler(ev) end)
  local lost = 0
  c:on_lost(function(n) lost = lost + n end)
  local f = assert(io.popen(build .. "/native_provider " .. total .. " & echo $!"))
  local child = math.tointeger(tonumber(f:read("l")))
  local t0, child_rss = os.clock(), 0
  local wall0 = os.time()
  while seen + lost < total and os.time() - wall0 < 60 do
    c:run { timeout_ms = 200 }
    child_rss = math.max(child_rss, rss_kb(child) or 0)
  end
  local cpu = os.clock() - t0
  f:close()
  print(string.format("%-34s %9.2f M events/s (consumer CPU time)  lost %d of %d  RSS consumer %d KB, producer %d KB",
    label, seen / cpu / 1e6, lost, total, rss_kb(etw.pid()) or 0, child_rss))
end

run("Lua handler, no field access", function() end)
run("Lua handler reading ev.fields.i", function(ev) local _ = ev.fields.i end)
