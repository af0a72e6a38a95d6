-- bench_fields.lua: field reads at the cost of a lookup (issue 13 §2).
-- Writes one ETL file of N TraceLogging events "RequestDone" {Status int32,
-- Path str8, Seconds float64, Port uint16, Tags str8} (Status 500 on 1% of
-- them), then reads it back with file consumers: events/s of CPU time, best
-- of 3, each as a ratio to a handler that reads nothing in the same run; and
-- `etwlua dump --filter` on it (CPU time of the command, output to /dev/null), fast path
-- vs the same expression on the Lua path. Printed, never asserted.
-- Run: build/etwlua bench/bench_fields.lua [ETWLUA_BINARY] [EVENTS]
local etw = require "etw"

local exe = arg[1] or "build-bench/etwlua"
local N = math.tointeger(tonumber(arg[2] or "1000000"))

local dir = assert(io.popen("mktemp -d")):read("l")
local path = dir .. "/fields.etl"

local function make()
  local s = etw.Session("bench-fields-" .. etw.pid(), { mode = "file", file = path, buffer_kb = 1024,
                                                       min_buffers = 64, max_buffers = 4096 })
  assert(s:start())
  assert(s:enable("Bench.Fields"))
  local p <close> = etw.Provider("Bench.Fields")
  local eb = etw.EventBuilder()
  for i = 1, N do
    eb:reset("RequestDone", 4)
    eb:add_int32("Status", i % 100 == 0 and 500 or 200)
    eb:add_str8("Path", "/api/items")
    eb:add_float64("Seconds", 0.25)
    eb:add_uint16("Port", 8443)
    eb:add_str8("Tags", "a,b")
    p:write(eb)
  end
  s:stop()
  local st = s:stats()
  return st.written or N
end

local function best(setup, runs)
  local t_best, n_best = math.huge, 0
  for _ = 1, runs or 3 do
    collectgarbage()
    local c <close> = assert(etw.Consumer { files = path })
    setup(c)
    local t0 = os.clock()
    local n = c:run()
    local t = os.clock() - t0
    if t < t_best then t_best, n_best = t, n end
  end
  return n_best / t_best, n_best
end

local written = make()
print(string.format("        %d events written to %s (%d bytes)", written, path,
                    io.open(path, "rb"):seek("end")))

local scan = best(function(c) c:on({ id = 999 }, function() end) end)
local base = best(function(c) c:on(function() end) end)
local function line(label, rate, target)
  print(string.format("%-8s%-52s %7.2f M events/s  %5.2fx the empty handler%s",
                      target and "target: " or "", label, rate / 1e6, rate / base,
                      target and ("  (target " .. target .. ")") or ""))
end
line("no handler runs (a header filter no event passes)", scan)
line("handler that reads nothing (baseline)", base)
local sink = 0
line("handler reading ev.fields.Status", (best(function(c)
  c:on(function(ev) if ev.fields.Status == 500 then sink = sink + 1 end end)
end)), ">= 3.5 M/s")
line("handler reading ev.fields.Tags (after a string)", (best(function(c)
  c:on(function(ev) local _ = ev.fields.Tags end)
end)))
line("handler with a 2-field projection (Status, Path)", (best(function(c)
  c:on({ fields = { "Status", "Path" } }, function(_, st, p) if st == 500 then sink = sink + #p end end)
end)), ">= 5 M/s")
line("handler with name filter + 2-field projection", (best(function(c)
  c:on({ name = "RequestDone", fields = { "Status", "Path" } }, function(_, st) if st == 500 then sink = sink + 1 end end)
end)))
line("C-side where, 1% pass (events scanned)", (best(function(c)
  c:on({ where = { Status = { ">=", 500 } } }, function() sink = sink + 1 end)
end)), ">= 15 M/s")
line("Lua predicate, 1% pass (the same in Lua)", (best(function(c)
  c:on(function(ev) return (ev.fields.Status or 0) >= 500 end, function() sink = sink + 1 end)
end)))
line("handler building the whole table (#ev.fields)", (best(function(c)
  c:on(function(ev) local _ = #ev.fields end)
end)))

-- dump: CPU time (user + system) of the whole command (start-up and file
-- open included), as bash's `time` reports it for the child
local function dump(expr)
  local t_best = math.huge
  local tf = dir .. "/time"
  for _ = 1, 3 do
    assert(os.execute(string.format("bash -c \"TIMEFORMAT='%%3U %%3S'; time %s dump %s --filter '%s' "
      .. ">/dev/null 2>/dev/null\" 2>%s", exe, path, expr, tf)))
    local f = assert(io.open(tf))
    local u, sy = f:read("n", "n")
    f:close()
    t_best = math.min(t_best, u + sy)
  end
  os.remove(tf)
  return written / t_best
end
local fast = dump("fields.Status >= 500")
local slow = dump("not not (fields.Status >= 500)")
print(string.format("target: %-52s %7.2f M events/s scanned (CPU)  (target >= 5 M/s)",
                    "dump --filter 'fields.Status >= 500' (C path)", fast / 1e6))
print(string.format("        %-52s %7.2f M events/s scanned (CPU)  C path %.1fx faster",
                    "same expression on the Lua path", slow / 1e6, fast / slow))
os.remove(path)
os.execute("rmdir '" .. dir .. "'")
