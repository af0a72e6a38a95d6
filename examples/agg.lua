-- etwlua.agg: count, sum and histogram events by any key, then print the
-- results as aligned tables with bars.
-- Run: etwlua examples/agg.lua
local etw = require "etw"
local agg = require "etwlua.agg"

local p <close> = etw.Provider("Example.Agg")
local s <close> = etw.Session("example-agg-" .. etw.pid())
assert(s:start())
assert(s:enable(p))

-- 40 reads and writes of sizes 0, 1, 3, 9, ... (deterministic)
local eb = etw.EventBuilder()
local total = 40
for i = 1, total do
  local op = (i % 4 == 0) and "Write" or "Read"
  eb:reset(op, { level = etw.Level.INFO }):add_str8("File", "f" .. (i % 3)):add_uint32("Bytes", (i * i) % 1500)
  p:write(eb)
end
s:flush()

local per_op = agg.count()                   -- key: the event name
local per_file = agg.sum()                   -- key: (event name, file)
local sizes = agg.hist()                     -- power-of-two histogram per event name
local widest = agg.max()
local c <close> = assert(etw.Consumer { session = s.name })
c:on(function(ev)
  per_op:add(ev.name)
  per_file:add(agg.tuple(ev.name, ev.fields.File), ev.fields.Bytes)
  sizes:add(ev.name, ev.fields.Bytes)
  widest:add(ev.name, ev.fields.Bytes)
end)
c:run { timeout_ms = 5000, max_events = total }

per_op:print(io.stdout, { title = "events per name:" })
print()
per_file:print(io.stdout, { title = "bytes per (name, file), top 3:", top = 3, width = 20 })
print()
widest:print(io.stdout, { title = "largest:", width = 0 })
print()
sizes:print(io.stdout, { title = "bytes:", width = 30 })
