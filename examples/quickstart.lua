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

-- An event template: the event's shape is given once, each call sends
-- only the values (one C call; with nobody listening it returns at once).
local Req = p:event("RequestDone", { level = etw.Level.INFO, keyword = 0x21, opcode = etw.Opcode.STOP },
  { "Status", "int32" }, { "Path", "str8" }, { "Seconds", "float64" },
  { "Client", "struct", { { "Host", "str8" }, { "Port", "uint16", etw.OutType.PORT } } })
for i = 1, 2 do
  Req(200 + i, "/page/" .. i, i / 8, { "10.0.0." .. i, 8443 })  -- struct: members in order
end

-- The same event built field by field, exactly as traceloggingdynamic would.
local eb = etw.EventBuilder()
eb:reset("RequestDone", { level = etw.Level.INFO, keyword = 0x21, opcode = etw.Opcode.STOP })
  :add_int32("Status", 203)
  :add_str8("Path", "/page/3")
  :add_float64("Seconds", 3 / 8)
  :add_struct("Client", 2)
    :add_str8("Host", "10.0.0.3")
    :add_uint16("Port", 8443, etw.OutType.PORT)
p:write(eb)
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
