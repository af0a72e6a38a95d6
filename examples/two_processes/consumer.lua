-- Consumer side of the two-process example: starts a session, enables the
-- producer's provider and handles its events until Ctrl+C or SECONDS pass.
--   etwlua examples/two_processes/consumer.lua [SECONDS]
-- Run examples/two_processes/run.sh to see both at once.
local etw = require "etw"

local seconds = tonumber(arg[1] or "10")
local s <close> = etw.Session("two-processes")
assert(s:start())
assert(s:enable("Example.TwoProcesses", { level = etw.Level.INFO }))

local c <close> = assert(etw.Consumer { session = "two-processes" })
local rounds = 0
c:on({ name = "Tick" }, function(ev)
  print(("tick %d from pid %d (%s)"):format(ev.fields.n, ev.pid, ev.fields.note))
end)
c:on(function(ev) return ev.fields.note == "round" end, function() rounds = rounds + 1 end)

local n, reason = c:run { timeout_ms = math.floor(seconds * 1000) }
print(("%d events, %d round ticks, stopped by %s"):format(n, rounds, reason))
