-- etwlua.format: print events as text, JSON Lines or CSV to any file handle.
-- Run: etwlua examples/format.lua [text|json|csv]   (default: csv)
local etw = require "etw"
local format = require "etwlua.format"

local name = arg and arg[1] or "csv"
local write, err = format.new(name, io.stdout)    -- csv: the header line comes first
if not write then
  io.stderr:write(err, "\n")
  os.exit(2)
end

local p <close> = etw.Provider("Example.Format")
local s <close> = etw.Session("example-format-" .. etw.pid())
assert(s:start())
assert(s:enable(p))
local eb = etw.EventBuilder()
eb:reset("Sizes", { level = etw.Level.INFO })
  :add_uint64("Max", -1)                    -- 2^64 - 1: exact, never a double
  :add_int64("Min", math.mininteger)
  :add_str8("Note", 'quoted "text", with a comma')
p:write(eb)
eb:reset("Done"):add_bool32("Ok", true)
p:write(eb)
s:flush()

local c <close> = assert(etw.Consumer { session = s.name })
c:on(write)                                 -- a writer is a function(ev)
c:run { timeout_ms = 5000, max_events = 2 }
