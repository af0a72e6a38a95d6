-- etwlua capture -p PROVIDER[:level[:keywords]]... -o out.etl [-- command args]:
-- record providers' events into an ETL file while a command runs, for a
-- duration, or until Ctrl+C; then print what was captured.
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { name = "capture",
            summary = "record providers into an ETL file (-p NAME -o out.etl [-- command])" }

M.usage = [==[
usage: etwlua capture -p NAME[:level[:keywords]] [-p ...] -o FILE
                      [--mode file|circular] [--max-mb N] [--buffers N] [--buffer-kb N]
                      [--file-mode MODE] [--duration SECONDS] [--session NAME]
                      [-- command [args...]]]==]

M.details = [==[
  Starts a file session (etwlua-capture-<pid>, or --session NAME), enables
  each provider (NAME or GUID; level 0..255 or critical/error/warning/info/
  verbose, default verbose; keywords default to all bits; Linux as root:
  also Linux-Kernel-Process and tracepoint:GROUP:NAME), then:
    -- command args   runs the command (in its own process group) and stops
                      when it exits; the exit status is the command's (128 +
                      signal if killed). SIGINT, SIGTERM and SIGHUP are
                      passed on to the command; capture waits for it to end
    --duration S      stops after S seconds
    neither           stops on Ctrl+C, SIGTERM, SIGHUP (status 0) or
                      `etwlua stop NAME`
  and prints the counts on stderr: events written, events lost, bytes, file(s).
  --mode file (default) writes as events come (what a killed capture leaves
  lacks at most the last second); with --max-mb N it starts a new file at
  N MB: FILE, then FILE_1.etl, FILE_2.etl ... (a "%d" in FILE is replaced by
  1, 2, ... instead). --mode circular keeps only the newest --max-mb MB
  (default 64; at least 2 buffers) in memory and writes them at the end;
  the file never exceeds --max-mb.
  --buffer-kb N sets the ETL buffer size (4..16384, default 64); --buffers N
  the buffers of each producer thread's ring (2..16384, default 32). Events
  lost because a ring was full are counted, and a hint names --buffers. An
  event larger than a buffer (or than 64 KB) cannot be in an ETL file: it
  is counted as lost.
  --file-mode MODE sets the permissions of the files made (octal, default
  0600, less the umask).
  If the disk fills up (or any write fails) the capture goes on counting,
  the file keeps what was written (a valid trace), the counts printed are
  what the file holds, and the exit status is 1.
  Exit status: the command's, else 0 ok; 1 error (session, file); 2 usage
  error.]==]

local function parse(args)
  -- everything after the first "--" is the command, taken as it is
  local own, cmd = {}, nil
  for i, a in ipairs(args) do
    if a == "--" then
      cmd = table.move(args, i + 1, #args, 1, {})
      break
    end
    own[#own + 1] = a
  end
  local opts, rest = util.getopt(own,
    { provider = "list", output = "value", mode = "value", ["max-mb"] = "value",
      ["buffer-kb"] = "value", buffers = "value", ["file-mode"] = "value", duration = "value",
      session = "value", help = "flag" },
    { ["-p"] = "provider", ["-o"] = "output", ["-h"] = "help" })
  if not opts then return nil, rest end
  if opts.help then return opts end
  if #rest > 0 then
    return nil, "unexpected argument '" .. rest[1] .. "' (put the command after --)"
  end
  if not opts.provider then return nil, "give at least one provider with -p NAME" end
  if not opts.output or opts.output == "" then return nil, "give the output file with -o FILE" end
  if cmd and #cmd == 0 then return nil, "no command after --" end
  opts.command = cmd
  opts.mode = opts.mode or "file"
  if opts.mode ~= "file" and opts.mode ~= "circular" then
    return nil, "--mode must be file or circular"
  end
  local ok, err = util.int_option(opts, "max-mb", 0, 1 << 22)
  if ok then ok, err = util.seconds_option(opts, "duration") end
  if ok then ok, err = util.session_option(opts) end
  if not ok then return nil, err end
  opts.session_opts, err = util.ring_options(opts)
  if not opts.session_opts then return nil, err end
  if opts.mode == "circular" and (opts["max-mb"] or 0) > 0
      and opts["max-mb"] * 1024 < 2 * (opts["buffer-kb"] or 64) then
    return nil, "--max-mb must hold at least 2 buffers of --buffer-kb in circular mode"
  end
  local fm = opts["file-mode"]
  if fm and not (fm:match("^[0-7][0-7][0-7][0-7]?$") and tonumber(fm, 8) <= 511
                 and tonumber(fm, 8) > 0) then
    return nil, "--file-mode must be octal permission bits such as 0644"
  end
  opts.session_opts.file_mode = fm
  if opts.duration and cmd then return nil, "give either --duration or a command, not both" end
  local enables, perr = util.parse_providers(opts.provider)
  if not enables then return nil, perr end
  opts.enables = enables
  return opts
end

-- Run the command in its own process group and wait for it. A SIGINT,
-- SIGTERM or SIGHUP meanwhile is forwarded to that group, and the wait goes
-- on until the command has ended, so the session is stopped (and the file
-- finalized) only after the command is gone. Returns its exit status
-- (128 + signal when a signal ended it), 127 when it cannot be started.
local function run_command(cmd)
  io.stdout:flush()
  local proc, err = etw.spawn(cmd)
  if not proc then
    io.stderr:write("etwlua capture: cannot run ", err, "\n")
    return 127
  end
  local how, value = proc:wait()
  while how == "interrupted" do
    proc:kill(value)
    how, value = proc:wait()
  end
  if how == "signal" then return 128 + value end
  return value
end

-- Name of file `index` (0 first) of a rotating capture to `path`: the
-- writer's rule (src/etl/etl_write.h etl_rotated_path).
local function rotated(path, index)
  if path:find("%d", 1, true) then
    local at = path:find("%d", 1, true)
    return path:sub(1, at - 1) .. (index + 1) .. path:sub(at + 2)
  end
  if index == 0 then return path end
  local base = path:match("^.*[/\\]()") or 1
  local dot = path:sub(base):match("^.+()%.[^.]*$")
  if dot then
    dot = base + dot - 1
    return path:sub(1, dot - 1) .. "_" .. index .. path:sub(dot)
  end
  return path .. "_" .. index
end

local function human(bytes)
  if bytes < 10 * 1024 then return bytes .. " bytes" end
  if bytes < 1024 * 1024 then return string.format("%.1f KB", bytes / 1024) end
  return string.format("%.1f MB", bytes / (1024 * 1024))
end

-- Wait for the duration (nil: for ever) or a stop or Ctrl+C; on a terminal
-- show the counts once a second.
local function wait(s, duration)
  if not etw.isatty(io.stderr) then return s:wait(duration) end
  local left, why = duration, "timeout"
  while why == "timeout" and (not left or left > 0) do
    local step = left and math.min(left, 1) or 1
    why = s:wait(step)
    if left then left = left - step end
    local ok, st = pcall(s.stats, s)
    if ok and st then
      io.stderr:write(string.format("\r%d events, %d lost, %s ", st.written, st.lost,
        human(st.file_bytes)))
    end
  end
  io.stderr:write("\n")
  return why
end

function M.run(args)
  local opts, err = parse(args)
  if not opts then return util.usage_error(M, err) end
  if opts.help then print(util.help_text(M)) return util.OK end

  local name = opts.session or ("etwlua-capture-" .. etw.pid())
  local sopts = opts.session_opts
  sopts.mode, sopts.file, sopts.max_mb = opts.mode, opts.output, opts["max-mb"]
  local s <close>, serr = util.start_session(name, sopts, opts.enables)
  if not s then return util.fail("capture", serr) end

  local status = 0
  if opts.command then
    status = run_command(opts.command)
  else
    wait(s, opts.duration)        -- "timeout", "stopped" (etwlua stop) or "interrupted"
  end
  local _, last = pcall(s.stats, s)
  s:stop()                       -- waits for the writer to drain and close the file
  local ok2, st = pcall(s.stats, s)  -- the final counts (a backend may not keep them)
  if not ok2 or type(st) ~= "table" then st = type(last) == "table" and last or {} end
  for _, k in ipairs { "written", "lost", "file_bytes", "files", "file_error" } do
    st[k] = st[k] or 0
  end
  local files = st.files <= 1 and opts.output
      or string.format("%s and %d more", opts.output, st.files - 1)
  io.stderr:write(string.format("etwlua capture: %d events, %d lost, %s, %s\n",
    st.written, st.lost, human(st.file_bytes), files))
  if st.file_error ~= 0 then           -- the losses are the file's, not the rings'
    local why = st.file_error_text or ("error " .. st.file_error)
    local what = opts.output
    if opts.mode == "file" and (opts["max-mb"] or 0) > 0 then   -- rotation: name the last file too
      what = string.format("%s and the files after it (the last one written: %s)", opts.output,
        rotated(opts.output, math.max(st.files, 1) - 1))
    end
    return util.fail("capture", string.format("writing %s failed: %s; the file holds the %d "
      .. "events counted above, the others are counted lost", what, why, st.written))
  end
  util.loss_hint("capture", st.lost, opts, true)
  return status
end

return M
