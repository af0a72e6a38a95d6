-- Time in scripts: c:every(seconds, fn) calls fn on a timer while c:run
-- runs, here to print a running count and to write the next batch of
-- events; etw.iso_time shows the timer's time (etw.now(), a FILETIME like
-- ev.timestamp). On a file consumer the timer follows event time instead.
-- Run: etwlua examples/every.lua [seconds]
local etw = require "etw"

local period = tonumber(arg and arg[1]) or 0.2
local p <close> = etw.Provider("Example.Every")
local s <close> = etw.Session("example-every-" .. etw.pid())
assert(s:start())
assert(s:enable(p))
local c <close> = assert(etw.Consumer { session = s.name })

local batches, size = 3, 10
local seen, written, ticks = 0, 0, 0
local eb = etw.EventBuilder()
c:on({ provider = "Example.Every" }, function() seen = seen + 1 end)
c:every(period, function(now)
  ticks = ticks + 1
  print(string.format("%s  %d of %d events seen", etw.iso_time(now), seen, written))
  if written < batches * size then
    for _ = 1, size do
      written = written + 1
      p:write(eb:reset("Tick"):add_int32("n", written))
    end
  elseif seen == written then
    c:stop()                       -- everything arrived: end c:run
  end
end)
local _, why = c:run { timeout_ms = 30000 }
print(string.format("%d events in %d ticks (%s)", seen, ticks, why))
