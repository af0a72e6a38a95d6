-- etwlua quickstart: define a TraceLogging provider and an event, look at the
-- exact bytes ETW would receive, and decode them back into an etw.Event.
-- Run: scripts/quickstart   (or build/etwlua examples/quickstart.lua)
local etw = require "etw"

-- A provider is named; its id is the ETW name hash unless given.
local p <close> = etw.Provider("MyCompany.MyComponent")
print(p)                                   --> Provider "MyCompany.MyComponent" {ce5fa4ea-...}

-- Build an event the traceloggingdynamic way: reset, then add fields.
local eb = etw.EventBuilder()
eb:reset("RequestDone", { level = etw.Level.INFO, keyword = 0x21, opcode = etw.Opcode.STOP })
  :add_int32("Status", 200)
  :add_uint64("Bytes", 1234567890123)
  :add_str8("Path", "/index.html")
  :add_float64("Seconds", 0.125)
  :add_str8_seq("Tags", { "web", "fast" })
  :add_struct("Client", 2)
    :add_guid("Session", etw.new_guid())
    :add_uint16("Port", 8443, etw.OutType.PORT)

-- Without a trace session nobody listens: is_enabled is false, write returns 0.
print("enabled:", p:is_enabled(etw.Level.INFO, 0x21), "write status:", p:write(eb))

-- The three blobs EventWriteTransfer receives.
local desc, meta, data = eb:bytes()
print(("descriptor %d bytes, metadata %d bytes, data %d bytes"):format(#desc, #meta, #data))

-- Decode what the builder holds, exactly as a consumer of the trace would.
local ev = etw.decode(p, eb)
print(ev)
print("Status =", ev.fields.Status, "Path =", ev.fields.Path)
print(ev:json())
