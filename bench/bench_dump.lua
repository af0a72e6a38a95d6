-- bench_dump.lua: `etwlua dump` on TraceLogging events. Records a file of
-- N events (a 5-field TraceLogging event, from this process through a file
-- session), then formats it as JSON Lines, CSV and text: with the C writer
-- dump uses (etw.EventWriter) and with the Lua writers of etwlua.format
-- (what dump did before, the baseline), both in this process, plus the
-- whole `etwlua dump` command. Output goes to /dev/null. Events/s and
-- ratios in the same run; printed, never asserted.
-- Run: ETWLUA_RUNTIME_DIR=$(mktemp -d) build/etwlua bench/bench_dump.lua ETWLUA_EXE [EVENTS]
local etw = require "etw"
local format = require "etwlua.format"

local exe = arg[1] or "build/etwlua"
local total = math.tointeger(tonumber(arg[2] or "300000"))
local dir = os.getenv("ETWLUA_RUNTIME_DIR") or "/tmp"
local path = dir .. "/bench-dump-" .. etw.pid() .. ".etl"

-- Seconds of wall clock (etw.now() is FILETIME: 100 ns units).
local function now() return etw.now() / 1e7 end

-- The file: `total` events, written in bursts the session's rings hold.
local function record()
  local name = "bench-dump-" .. etw.pid()
  local s <close> = etw.Session(name, { mode = "file", file = path, buffer_kb = 1024, min_buffers = 64 })
  assert(s:start())
  local p <close> = etw.Provider("Bench.Dump")
  assert(s:enable("Bench.Dump", { level = 5 }))
  local eb = etw.EventBuilder()
  for i = 1, total do
    eb:reset("RequestDone", { level = 4, keyword = 0x21 })
    eb:add_int32("Status", 200 + i % 400):add_str8("Path", "/api/items/" .. (i % 100))
    eb:add_float64("Seconds", i / 1024):add_uint16("Port", 8443):add_str8("Client", "10.0.0.1")
    p:write(eb)
    if i % 20000 == 0 then etw.sleep(0.02) end
  end
  s:flush()
  s:stop()
end

-- Best of 3 passes over the file into handler make(out): seconds, events.
local function best(make)
  local t_best, n = math.huge, 0
  for _ = 1, 3 do
    local out <close> = assert(io.open("/dev/null", "w"))
    out:setvbuf("full")
    collectgarbage()
    local c <close> = assert(etw.Consumer { files = path })
    c:on(make(out))
    local t0 = now()
    local got = c:run()
    out:flush()
    local t = now() - t0
    if t < t_best then t_best, n = t, got end
  end
  return t_best, n
end

local function command(fmt)
  local t_best = math.huge
  for _ = 1, 3 do
    local t0 = now()
    assert(os.execute(string.format("'%s' dump -f %s '%s' >/dev/null", exe, fmt, path)))
    t_best = math.min(t_best, now() - t0)
  end
  return t_best
end

record()
local ok, err = pcall(function()
  print(string.format("%d TraceLogging events (5 fields) in %s", total, path))
  for _, fmt in ipairs({ "json", "csv", "text" }) do
    local tc, n = best(function(out) return etw.EventWriter(fmt, out) end)
    local tl = best(function(out) return format.new(fmt, out) end)
    local tx = command(fmt)
    print(string.format("%-5s C writer %6.2f M events/s | Lua writers (baseline) %5.2f M/s | "
      .. "C / Lua %5.1fx | `etwlua dump -f %s` %5.2f M/s (includes start-up)",
      fmt, n / tc / 1e6, n / tl / 1e6, tl / tc, fmt, n / tx / 1e6))
    if fmt == "json" then
      print(string.format("target: %-46s %8.2f M events/s = %4.2fx the Lua writers (target >= 2 M/s)",
        "dump --format json, TraceLogging events", n / tc / 1e6, tl / tc))
    end
  end
end)
os.remove(path)
if not ok then error(err, 0) end
