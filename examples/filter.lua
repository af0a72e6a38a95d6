-- etwlua.filter: keep the events for which a filter expression is true.
-- Run: etwlua examples/filter.lua ['EXPR']   (default: 'fields.Status >= 500')
-- The expression is the `etwlua dump --filter` language: `ev`, its
-- properties as plain names (level, name, fields, ...) and a few safe
-- library tables.
local etw = require "etw"
local filter = require "etwlua.filter"

local expr = arg and arg[1] or "fields.Status >= 500"
local keep, err = filter.compile(expr, {
  on_error = function(msg) io.stderr:write("filter failed (taken as false): ", msg, "\n") end,
})
if not keep then
  io.stderr:write("bad filter: ", err, "\n")
  os.exit(2)
end

-- Ten requests into a real-time session of our own.
local p <close> = etw.Provider("Example.Filter")
local s <close> = etw.Session("example-filter-" .. etw.pid())
assert(s:start())
assert(s:enable(p))
local statuses = { 200, 201, 404, 500, 200, 503, 302, 200, 504, 200 }
local eb = etw.EventBuilder()
for i, status in ipairs(statuses) do
  eb:reset("Request", { level = status >= 500 and etw.Level.ERROR or etw.Level.INFO })
    :add_int32("Status", status):add_str8("Path", "/item/" .. i)
  p:write(eb)
end
s:flush()

local c <close> = assert(etw.Consumer { session = s.name })
local kept = {}
c:on(function(ev)
  if keep(ev) then kept[#kept + 1] = ev.fields.Status .. " " .. ev.fields.Path end
end)
c:run { timeout_ms = 5000, max_events = #statuses }
print(string.format("kept %d of %d events for: %s", #kept, #statuses, expr))
for _, line in ipairs(kept) do print("  " .. line) end
