-- bench_files.lua: records/s of etw.Consumer{files=...} into Lua handlers,
-- for the largest uncompressed sample and the largest compressed one, from
-- $ETWLUA_SHARED/etl-samples (default ../shared). Printed, never asserted.
-- Run: build/etwlua bench/bench_files.lua
local etw = require "etw"

local shared = os.getenv("ETWLUA_SHARED")
if not shared or shared == "" then shared = "../shared" end
local dir = shared .. "/etl-samples/"

local files = {
  { "airbus-etl-parser/ShutdownPerfDiagLogger.etl", "uncompressed, kernel records" },
  { "perfview/net.4.5.2.x64.etl", "LZ77-compressed, mixed headers" },
}

-- handler kinds: what the Lua side does per event
local handlers = {
  { "empty handler", function() return function() end end },
  { "handler reads ev.name, ev.timestamp", function()
      local n = 0
      return function(ev)
        local _ = ev.name, ev.timestamp
        n = n + 1
      end
    end },
  { "handler reads header fields + ev.fields", function()
      return function(ev)
        local _ = ev.provider_id, ev.name, ev.timestamp, ev.pid, ev.tid, ev.level, ev.fields
      end
    end },
}

-- Best of `runs` full passes: seconds and events of the fastest.
local function best(path, make, runs)
  local best_t, events = math.huge, 0
  for _ = 1, runs do
    collectgarbage()
    local t0 = os.clock()
    local c <close> = assert(etw.Consumer { files = path })
    c:on(make())
    local n = c:run()
    local t = os.clock() - t0
    if t < best_t then best_t, events = t, n end
  end
  return best_t, events
end

local any = false
for _, f in ipairs(files) do
  local path = dir .. f[1]
  local fh = io.open(path, "rb")
  if not fh then
    print(string.format("%-44s skipped: not found at %s", f[1], path))
  else
    fh:close()
    any = true
    print(string.format("%s (%s); times include opening (read, scan, decompress)", f[1], f[2]))
    local t_open = math.huge
    for _ = 1, 5 do
      local t0 = os.clock()
      assert(etw.Consumer { files = path }):close()
      t_open = math.min(t_open, os.clock() - t0)
    end
    print(string.format("  %-42s %8.1f ms", "open + close only", t_open * 1e3))
    for _, h in ipairs(handlers) do
      local t, n = best(path, h[2], 5)
      print(string.format("  %-42s %7d records  %8.1f ms  %10.0f records/s  %6.0f ns/record",
                          h[1], n, t * 1e3, n / t, t * 1e9 / n))
    end
  end
end
if not any then print("no samples: set ETWLUA_SHARED to the shared folder") end
