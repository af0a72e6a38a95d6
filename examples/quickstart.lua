-- etwlua quickstart: a provider, a trace session, events written and each
-- one handled in Lua; all in one script.
-- Run: scripts/quickstart   (or build/etwlua examples/quickstart.lua)
local etw = require "etw"

-- A TraceLogging provider; its id is the ETW name hash unless given.
local p <close> = etw.Provider("MyCompany.MyComponent")
print(p)

-- A real-time session that enables the provider (info level and below).
local s <close> = etw.Session("quickstart-" .. etw.pid())
assert(s:start())
assert(s:enable(p, { level = etw.Level.INFO }))
print("enabled at INFO:", p:is_enabled(etw.Level.INFO), "at VERBOSE:", p:is_enabled(etw.Level.VERBOSE))

-- Write a few events, exactly as traceloggingdynamic would.
local eb = etw.EventBuilder()
for i = 1, 3 do
  eb:reset("RequestDone", { level = etw.Level.INFO, keyword = 0x21, opcode = etw.Opcode.STOP })
    :add_int32("Status", 200 + i)
    :add_str8("Path", "/page/" .. i)
    :add_float64("Seconds", i / 8)
    :add_struct("Client", 2)
      :add_str8("Host", "10.0.0." .. i)
      :add_uint16("Port", 8443, etw.OutType.PORT)
  p:write(eb)
end
eb:reset("Noise", { level = etw.Level.VERBOSE }):add_int32("ignored", 1)
p:write(eb)                     -- level 5 is above the session's level: not recorded

-- Consume: the handler runs once per matching event, as an etw.Event.
local c <close> = assert(etw.Consumer { session = s.name })
c:on({ provider = p.name, name = "RequestDone" }, function(ev)
  print(("%s pid=%d status=%d path=%s client=%s:%d"):format(
    ev.name, ev.pid, ev.fields.Status, ev.fields.Path, ev.fields.Client.Host, ev.fields.Client.Port))
end)
s:flush()
local n, reason = c:run { timeout_ms = 2000, max_events = 3 }
print(("handled %d events (%s)"):format(n, reason))

-- Every event is also JSON, ordered as written.
eb:reset("Example"):add_int64("Big", math.maxinteger):add_guid("Id", etw.new_guid())
print(eb:decode(p):json())
