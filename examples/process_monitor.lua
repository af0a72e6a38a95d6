-- Process monitor: every process start and stop, then the starts per image.
-- The same script on Windows and Linux: it enables Linux-Kernel-Process,
-- which Windows takes as Microsoft-Windows-Kernel-Process, and reads the
-- event and field names of that Windows provider (ProcessStart: ProcessID,
-- ParentProcessID, ImageName, CommandLine; ProcessStop: ProcessID, ExitCode).
-- Needs an elevated prompt on Windows, root or CAP_PERFMON on Linux.
-- Run: etwlua examples/process_monitor.lua [SECONDS]   (default: until Ctrl+C)
local etw = require "etw"
local agg = require "etwlua.agg"

local usage = "usage: etwlua examples/process_monitor.lua [SECONDS]\n"
  .. "  prints process starts and stops for SECONDS (a number > 0), or until Ctrl+C\n"
if arg[1] == "-h" or arg[1] == "--help" then
  io.stdout:write(usage)
  os.exit(0)
end
local seconds = arg[1] and tonumber(arg[1])
if #arg > 1 or (arg[1] and not (seconds and seconds > 0 and seconds < math.huge)) then
  io.stderr:write(usage)
  os.exit(2)
end

local s <close> = etw.Session("etwlua-process-monitor-" .. etw.pid())
local ok, err = s:start()
if ok then ok, err = s:enable("Linux-Kernel-Process", { any = 0x10 })   -- Process keyword
end
if not ok then
  io.stderr:write("process_monitor: ", err, "\n")
  os.exit(1)
end
local c <close> = assert(etw.Consumer { session = s.name })

local starts = agg.count()
local function text(v) return v == nil and "-" or tostring(v) end
c:on(function(ev)
  local f = ev.fields
  if ev.name == "ProcessStart" then
    print(string.format("start pid=%s parent=%s image=%s cmd=%s", text(f.ProcessID),
                        text(f.ParentProcessID), text(f.ImageName), text(f.CommandLine)))
    starts:add(text(f.ImageName))
  elseif ev.name == "ProcessStop" then
    print(string.format("stop  pid=%s exit=%s", text(f.ProcessID), text(f.ExitCode)))
  end
end)

local _, reason = c:run(seconds and { timeout_ms = math.floor(seconds * 1000) } or nil)
print()
starts:print(io.stdout, { title = "process starts per image (" .. reason .. "):" })
