-- Producer side of the two-process example: writes one "Tick" event every
-- 100 ms while a session enables "Example.TwoProcesses", for COUNT ticks.
--   etwlua examples/two_processes/producer.lua [COUNT]
local etw = require "etw"

local p <close> = etw.Provider("Example.TwoProcesses")
local eb = etw.EventBuilder()
local count = math.tointeger(tonumber(arg[1] or "50"))

local function sleep(s) os.execute("sleep " .. s) end

for i = 1, count do
  if p:is_enabled(etw.Level.INFO) then       -- costs a couple of loads when off
    eb:reset("Tick", { level = etw.Level.INFO })
      :add_int32("n", i)
      :add_str8("note", i % 10 == 0 and "round" or "plain")
    p:write(eb)
  end
  sleep(0.1)
end
