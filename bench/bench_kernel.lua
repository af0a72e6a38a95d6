-- Kernel sources (issue 12): events/s delivered into a Lua handler for
-- raw_syscalls:sys_enter under a syscall storm and for sched_switch, the
-- loss at default rings, and how much the storm itself slows down when
-- traced, next to `perf record -e` of the same tracepoint and `bpftrace`
-- counting it (when installed: scripts/setup --bench). Printed, never
-- asserted. Needs root (or CAP_PERFMON); says so and ends otherwise.
local etw = require "etw"

local N = tonumber(arg and arg[1]) or 300000    -- one-byte reads (and writes) of dd

local function sh(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("a")
  f:close()
  return out
end

local function have(cmd) return not sh("command -v " .. cmd .. " 2>/dev/null"):match("^%s*$") end

local STORM = "dd if=/dev/zero of=/dev/null bs=1 count=" .. N .. " 2>/dev/null"

-- Wall seconds of a shell command.
local function timed(cmd)
  local ns = sh("s=$(date +%s%N); " .. cmd .. "; e=$(date +%s%N); echo $((e - s))")
  return tonumber(ns:match("(%d+)%s*$")) / 1e9
end

local function now() return tonumber(sh("date +%s%N")) / 1e9 end

-- The storm in the background while a consumer of `source` counts events
-- in a Lua handler: events, lost, seconds of the storm, seconds consumed.
local function traced_storm(source)
  local name = "bench-kernel-" .. etw.pid()
  local s = assert(etw.Session(name):start())
  local ok, err = s:enable(source)
  if not ok then s:stop(); return nil, err end
  local c = assert(etw.Consumer { session = name })
  local n, lost, first, last = 0, 0, nil, nil
  c:on(function()
    n = n + 1
    if n == 1 then first = etw.now() elseif n & 1023 == 0 then last = etw.now() end
  end)
  c:on_lost(function(k) lost = lost + k end)
  local marker = os.tmpname()
  os.remove(marker)
  local t0 = now()
  os.execute("(s=$(date +%s%N); " .. STORM .. "; e=$(date +%s%N); echo $((e - s)) > " ..
             marker .. ") &")
  local storm
  repeat
    c:run { timeout_ms = 100 }
    local f = io.open(marker)
    if f then storm = tonumber(f:read("a")) ; f:close() end
  until storm
  c:run { timeout_ms = 300 }                    -- what is still in flight
  local t1 = now()
  os.remove(marker)
  local st = s:stats()
  c:close()
  s:stop()
  -- delivered rate: from the first event to the last 1024th (FILETIME: 100 ns)
  local rate = first and last and last > first and (n - 1) / ((last - first) / 1e7) or 0
  return { events = n, lost = math.max(lost, st.lost), storm = storm / 1e9, wall = t1 - t0,
           rate = rate }
end

local function sched_rate(seconds)
  local name = "bench-kernel-sw-" .. etw.pid()
  local s = assert(etw.Session(name):start())
  assert(s:enable("tracepoint:sched:sched_switch"))
  local c = assert(etw.Consumer { session = name })
  local n = 0
  c:on(function(ev) if ev.fields.next_pid then n = n + 1 end end)
  local t0 = now()
  c:run { timeout_ms = seconds * 1000 }
  local t1 = now()
  local lost = s:stats().lost
  c:close()
  s:stop()
  return n, lost, t1 - t0
end

local probe = etw.Session("bench-kernel-probe-" .. etw.pid())
assert(probe:start())
local ok, err = probe:enable("tracepoint:raw_syscalls:sys_enter")
probe:stop()
if not ok then
  print("bench_kernel: kernel sources not available here: " .. tostring(err))
  return
end

local base = timed(STORM)
print(string.format("storm: %d one-byte reads+writes of dd, untraced %.3f s", N, base))

local r = assert(traced_storm("tracepoint:raw_syscalls:sys_enter"))
print(string.format("etwlua  raw_syscalls:sys_enter -> Lua handler: %d events, %d lost, " ..
                    "%.0f events/s delivered while they came; storm %.3f s (x%.2f)",
                    r.events, r.lost, r.rate, r.storm, r.storm / base))

if have("perf") then
  local out = os.tmpname()
  local t = timed("perf record -q -e raw_syscalls:sys_enter -a -o " .. out .. " -- " .. STORM ..
                  " >/dev/null 2>&1")
  os.remove(out)
  os.remove(out .. ".old")
  print(string.format("perf record -e raw_syscalls:sys_enter -a to a file: storm %.3f s (x%.2f)",
                      t, t / base))
else
  print("perf: not installed (scripts/setup --bench)")
end
if have("bpftrace") then
  -- bpftrace in the background (its -c takes no shell redirections), the
  -- storm once it is attached, then bpftrace ends and prints its count
  local out = os.tmpname()
  local t = timed("bpftrace -q -e 'tracepoint:raw_syscalls:sys_enter { @n = count(); }' > " ..
                  out .. " 2>&1 & b=$!; sleep 3; s=$(date +%s%N); " .. STORM ..
                  "; e=$(date +%s%N); kill -INT $b; wait $b; echo $((e - s)) >> " .. out ..
                  "; s=0; e=0")
  local f = io.open(out)
  local text = f and f:read("a") or ""
  if f then f:close() end
  os.remove(out)
  local ns = tonumber(text:match("(%d+)%s*$"))
  local count = text:match("@n:%s*(%d+)")
  t = ns and ns / 1e9 or t
  print(string.format("bpftrace counting raw_syscalls:sys_enter (in kernel): storm %.3f s (x%.2f), " ..
                      "%s events counted", t, t / base, count or "?"))
else
  print("bpftrace: not installed (scripts/setup --bench)")
end

-- A paced writer: `rate` one-byte writes a second for `secs` seconds (a
-- child etwlua, after half a second so the session sees it from its first
-- write); the session takes its sys_enter samples only (pids), at default
-- rings, into a Lua handler.
local PACER = [[
local etw = require "etw"
local rate, secs = RATE, SECS
local f = assert(io.open("/dev/null", "w"))
f:setvbuf("no")
etw.sleep(0.5)
local t0, n = etw.now(), 0
while true do
  local el = (etw.now() - t0) / 1e7
  if el >= secs then break end
  local want = math.floor(el * rate)
  while n < want do f:write("x"); n = n + 1 end
  etw.sleep(0.001)
end
]]

local function paced(rate, secs)
  local name = "bench-kernel-paced-" .. etw.pid()
  local s = assert(etw.Session(name):start())
  local code = PACER:gsub("RATE", tostring(rate)):gsub("SECS", tostring(secs))
  local p = assert(etw.spawn({arg[-1], "-e", code}))
  local ok, err = s:enable("tracepoint:raw_syscalls:sys_enter", {pids = {p.pid}})
  if not ok then p:kill("SIGKILL"); p:wait(); s:stop(); return nil, err end
  local c = assert(etw.Consumer { session = name })
  local n, lost = 0, 0
  c:on(function() n = n + 1 end)
  c:on_lost(function(k) lost = lost + k end)
  repeat c:run { timeout_ms = 100 } until p:wait(0) ~= "timeout"
  c:run { timeout_ms = 300 }
  local st = s:stats()
  c:close()
  s:stop()
  return n, math.max(lost, st.lost)
end

for _, rate in ipairs { 100000, 300000 } do
  local n, lost = paced(rate, 2)
  if n then
    print(string.format("etwlua  raw_syscalls:sys_enter of one process at %d writes/s for 2 s -> " ..
                        "Lua handler: %d events, %d lost", rate, n, lost))
  else
    print("paced run: " .. tostring(lost))
  end
end

local n, lost, secs = sched_rate(2)
print(string.format("etwlua  sched:sched_switch -> Lua handler: %d events in %.1f s (%.0f/s), %d lost",
                    n, secs, n / secs, lost))
