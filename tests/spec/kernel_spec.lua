-- Kernel sources on the Linux session engine (issue 12, DESIGN §3b): raw
-- tracepoints and Linux-Kernel-Process through perf_event_open, their
-- decoded fields, errors (unknown tracepoint, no permission), file
-- sessions, and the end of the sources with their session. Needs root (or
-- CAP_PERFMON) and tracefs: every test is pending, with the reason, where
-- the probe enable fails.
local etw = require "etw"

local windows = package.config:sub(1, 1) == "\\"

local counter = 0
local function unique(prefix)
  counter = counter + 1
  return string.format("%s-%d-%d", prefix, etw.pid(), counter)
end

local sh = require("testutil").sh

-- Why kernel sources cannot be tested here, or nil.
local function unavailable()
  if windows then return "kernel sources are Linux-only for now" end
  local s = etw.Session(unique("probe"))
  assert(s:start())
  local ok, err = s:enable("tracepoint:sched:sched_process_exec")
  s:stop()
  if not ok then return "kernel tracepoints not available: " .. tostring(err) end
end
local why = unavailable()
local describe_kernel = why and function(name) pending(name .. ": " .. why) end or describe

-- The perf fds this process holds.
local function perf_fds()
  local n = 0
  for fd in sh("ls /proc/" .. etw.pid() .. "/fd"):gmatch("%d+") do
    local l = sh("readlink /proc/" .. etw.pid() .. "/fd/" .. fd .. " 2>/dev/null")
    if l:find("perf_event", 1, true) then n = n + 1 end
  end
  return n
end

-- Run `/bin/true` n times through a shell that prints its pid first: the
-- pids that exec'd /bin/true.
local function run_true(n)
  local pids = {}
  for _ = 1, n do
    pids[#pids + 1] = assert(tonumber(sh("sh -c 'echo $$; exec /bin/true'"):match("%d+")))
  end
  return pids
end

local function collect(name, ms, pred)
  local c = assert(etw.Consumer { session = name })
  local got = {}
  c:on(function(ev)
    if not pred or pred(ev) then got[#got + 1] = ev end
  end)
  c:run { timeout_ms = ms }
  c:close()
  return got
end

describe_kernel("kernel sources (Linux, perf)", function()
  it("tracepoint:sched:sched_switch decodes prev_comm/next_pid with the sample's header", function()
    local name = unique("k-switch")
    local s = assert(etw.Session(name):start())
    assert(s:enable("tracepoint:sched:sched_switch"))
    local me = etw.pid()
    local comm = (sh("cat /proc/" .. me .. "/comm"):gsub("%s+$", ""))
    local c = assert(etw.Consumer { session = name })
    local mine, total = nil, 0
    c:on(function(ev)
      total = total + 1
      if ev.fields.prev_pid == me then mine = ev; c:stop() end
    end)
    c:run { timeout_ms = 5000 }
    c:close()
    s:stop()
    assert.is_true(total > 0)
    assert.is_not_nil(mine, "no switch away from this process among " .. total .. " events")
    assert.are.equal("tracepoint:sched:sched_switch", mine.provider)
    assert.are.equal("sched_switch", mine.name)
    assert.are.equal(comm, mine.fields.prev_comm)
    assert.are.equal("number", math.type(mine.fields.next_pid) and "number")
    assert.are.equal(me, mine.pid)             -- the sample's pid: the task switched out
    assert.are.equal(me, mine.tid)
    assert.is_true(mine.cpu >= 0)
  end)

  it("Linux-Kernel-Process: N runs of /bin/true give N ProcessStart with their pids and ImageName",
     function()
    local name = unique("k-proc")
    local s = assert(etw.Session(name):start())
    assert(s:enable("Linux-Kernel-Process"))
    local pids = run_true(5)
    local want = {}
    for _, p in ipairs(pids) do want[p] = true end
    local starts, stops = {}, {}
    local c = assert(etw.Consumer { session = name })
    c:on({ provider = "Linux-Kernel-Process" }, function(ev)
      local f = ev.fields
      if ev.name == "ProcessStart" and f.ImageName == "/bin/true" and want[f.ProcessID] then
        starts[#starts + 1] = ev
      elseif ev.name == "ProcessStop" and want[f.ProcessID] then
        stops[#stops + 1] = ev
      end
      if #starts == 5 and #stops == 5 then c:stop() end
    end)
    c:run { timeout_ms = 5000 }
    c:close()
    s:stop()
    assert.are.equal(5, #starts)
    assert.are.equal(5, #stops)
    for i, ev in ipairs(starts) do
      assert.are.equal(pids[i], ev.fields.ProcessID)   -- in time order
      assert.are.equal(pids[i], ev.pid)
      assert.is_true(ev.fields.ParentProcessID > 0)
      assert.are.equal(0x10, ev.keyword)
      assert.are.equal(1, ev.opcode)
    end
    for _, ev in ipairs(stops) do
      assert.are.equal(0, ev.fields.ExitCode)
      assert.are.equal("true", ev.fields.ImageName)
    end
  end)

  it("ProcessStart's CommandLine is read when the bridge sees the exec, not when it writes " ..
     "the event", function()
    -- flush_ms 4000: the sample is written at a pass seconds later, when
    -- the 1 s process has ended; its command line was taken at the exec
    local name = unique("k-cmdline")
    local s = assert(etw.Session(name, { flush_ms = 4000 }):start())
    assert(s:enable("Linux-Kernel-Process", { any = 0x10 }))
    local p = assert(etw.spawn({ "/bin/sh", "-c", "exec sleep 1" }))
    local pid = p.pid
    p:wait(5000)
    local got
    local c = assert(etw.Consumer { session = name })
    c:on({ provider = "Linux-Kernel-Process", name = "ProcessStart" }, function(ev)
      -- the same pid exec'd /bin/sh first
      if ev.fields.ProcessID == pid and ev.fields.ImageName:match("/sleep$") then
        got = ev
        c:stop()
      end
    end)
    c:run { timeout_ms = 15000 }
    c:close()
    s:stop()
    assert.is_not_nil(got, "no ProcessStart of " .. pid)
    assert.are.equal("sleep 1", got.fields.CommandLine)
  end)

  it("keywords select events: any = Thread (0x20) gives no ProcessStart", function()
    local name = unique("k-kw")
    local s = assert(etw.Session(name):start())
    assert(s:enable("Linux-Kernel-Process", { any = 0x20 }))
    run_true(2)
    local got = collect(name, 1500)
    s:stop()
    local names = {}
    for _, ev in ipairs(got) do names[ev.name] = true end
    assert.is_nil(names.ProcessStart)
    assert.is_nil(names.ProcessStop)
    assert.is_true(names.ThreadStop)
  end)

  it("Linux-Kernel-File: a file this process opens shows in FileOpen with its path, " ..
     "a closed one with no path", function()
    local name = unique("k-file-open")
    local s = assert(etw.Session(name):start())
    local me = etw.pid()
    assert(s:enable("Linux-Kernel-File", { pids = { me } }))
    local path, first = os.tmpname(), os.tmpname()
    assert(io.open(first, "r")):close()         -- its fd number is free again ...
    local f = assert(io.open(path, "r"))        -- ... for this one, kept open until read
    local got, named = nil, 0
    local c = assert(etw.Consumer { session = name })
    c:on({ provider = "Linux-Kernel-File", name = "FileOpen" }, function(ev)
      if ev.fields.FileName == path then named = named + 1; got = got or ev end
    end)
    c:run { timeout_ms = 1500 }
    c:close()
    f:close()
    os.remove(path)
    os.remove(first)
    s:stop()
    assert.is_not_nil(got)
    -- the open of `first` (closed since) must not borrow the path its fd has now
    assert.are.equal(1, named)
    assert.are.equal(me, got.pid)
    assert.are.equal(0x80, got.keyword)
    assert.is_true(got.fields.FileDescriptor >= 3)
  end)

  it("Linux-Kernel-File: a file this process renames and unlinks shows in FileRename " ..
     "and FileDelete with its paths", function()
    local name = unique("k-file-del")
    local s = assert(etw.Session(name):start())
    local me = etw.pid()
    assert(s:enable("Linux-Kernel-File", { pids = { me } }))
    local a = os.tmpname()
    local b = a .. ".renamed"
    assert(os.rename(a, b))
    assert(os.remove(b))
    local rename, delete = nil, nil
    local c = assert(etw.Consumer { session = name })
    c:on({ provider = "Linux-Kernel-File" }, function(ev)
      if ev.name == "FileRename" and ev.fields.FileName == a then rename = ev end
      if ev.name == "FileDelete" and ev.fields.FileName == b then delete = ev end
      if rename and delete then c:stop() end
    end)
    c:run { timeout_ms = 3000 }
    c:close()
    s:stop()
    os.remove(a)
    os.remove(b)
    assert.is_not_nil(rename, "no FileRename of " .. a)
    assert.are.equal(b, rename.fields.NewFileName)
    assert.are.equal(me, rename.pid)
    assert.are.equal(0x800, rename.keyword)
    assert.is_not_nil(delete, "no FileDelete of " .. b)
    assert.are.equal(me, delete.pid)
    assert.are.equal(0x400, delete.keyword)
  end)

  it("Linux-Kernel-File: a relative path is made absolute against the process's directory",
     function()
    local name = unique("k-file-rel")
    local s = assert(etw.Session(name):start())
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    -- a child in `dir` removes a file by its relative name, and lives on
    -- (the name is read from its memory: see the README)
    local exe = os.getenv("ETWLUA_EXE") or arg[-1]
    if exe:sub(1, 1) ~= "/" then exe = os.getenv("PWD") .. "/" .. exe end
    local p = assert(etw.spawn({ "/bin/sh", "-c", "cd " .. dir .. " && exec " .. exe ..
                                 [[ -e 'local etw = require "etw"; etw.sleep(0.5);
                                 io.open("rel.txt", "w"):close(); os.remove("rel.txt");
                                 etw.sleep(1.5)']] }))
    assert(s:enable("Linux-Kernel-File", { any = 0x400 }))
    local got
    local c = assert(etw.Consumer { session = name })
    c:on({ provider = "Linux-Kernel-File", name = "FileDelete" }, function(ev)
      if ev.fields.FileName == dir .. "/rel.txt" then got = ev; c:stop() end
    end)
    c:run { timeout_ms = 4000 }
    c:close()
    p:wait(5000)
    s:stop()
    os.execute("rm -rf " .. dir)
    assert.is_not_nil(got, "no FileDelete of " .. dir .. "/rel.txt")
  end)

  it("Linux-Kernel-Network: a TCP connection to a local listener, with both ports", function()
    if sh("command -v python3"):match("^%s*$") then
      pending("needs python3 to make a TCP connection")
      return
    end
    local name = unique("k-net")
    local s = assert(etw.Session(name):start())
    assert(s:enable("Linux-Kernel-Network", { level = 4 }))
    local ports = sh([[python3 -c "
import socket
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
print(l.getsockname()[1], c.getsockname()[1])
c.close(); a.close(); l.close()"]])
    local lport, cport = ports:match("(%d+) (%d+)")
    lport, cport = tonumber(lport), tonumber(cport)
    local ev = {}
    local c = assert(etw.Consumer { session = name })
    c:on({ provider = "Linux-Kernel-Network" }, function(e)
      local f = e.fields
      if (f.sport == lport and f.dport == cport) or (f.sport == cport and f.dport == lport) then
        ev[e.name] = ev[e.name] or e
        ev.closes = (ev.closes or 0) + (e.name == "TcpClose" and 1 or 0)
      end
      if ev.TcpConnect and ev.TcpAccept and (ev.closes or 0) >= 2 then c:stop() end
    end)
    c:run { timeout_ms = 5000 }
    c:close()
    s:stop()
    assert.is_not_nil(ev.TcpConnect)
    assert.are.same({ "127.0.0.1", "127.0.0.1", cport, lport },
      { ev.TcpConnect.fields.saddr, ev.TcpConnect.fields.daddr, ev.TcpConnect.fields.sport,
        ev.TcpConnect.fields.dport })
    assert.is_not_nil(ev.TcpAccept)
    assert.are.same({ lport, cport }, { ev.TcpAccept.fields.sport, ev.TcpAccept.fields.dport })
    assert.are.equal(2, ev.closes)
    assert.is_nil(ev.TcpState)                  -- level 5: not taken at level 4
  end)

  it("pids: only the given process's samples (its threads at enable time)", function()
    local name = unique("k-pids")
    local s = assert(etw.Session(name):start())
    local me = etw.pid()
    assert(s:enable("tracepoint:syscalls:sys_enter_openat", { pids = { me } }))
    -- the opens of other processes (children of this one included) must not show
    sh("sh -c 'for i in 1 2 3; do cat /proc/self/stat >/dev/null; done'")
    local c = assert(etw.Consumer { session = name })
    local others, mine = 0, 0
    c:on(function(ev) if ev.pid == me then mine = mine + 1 else others = others + 1 end end)
    for _ = 1, 10 do assert(io.open("/dev/null")):close() end
    c:run { timeout_ms = 1000 }
    c:close()
    s:stop()
    assert.are.equal(0, others)
    assert.is_true(mine >= 10)
  end)

  it("an unknown tracepoint is NOTFOUND naming it; the session keeps its other sources", function()
    local name = unique("k-nf")
    local s = assert(etw.Session(name):start())
    assert(s:enable("tracepoint:sched:sched_process_exec"))
    local ok, err, code = s:enable("tracepoint:sched:nope")
    assert.is_nil(ok)
    assert.are.equal("NOTFOUND", code)
    assert.is_truthy(err:find("^NOTFOUND: no tracepoint sched:nope %(see /.*/events%)$"), err)
    ok, err, code = s:enable("tracepoint:sched")
    assert.is_nil(ok)
    assert.are.equal("ARG", code)
    assert.is_truthy(err:find("tracepoint:GROUP:NAME", 1, true), err)
    ok, err, code = s:enable("tracepoint:../x:y")
    assert.are.equal("ARG", code)
    assert.are.equal(1, s:stats().providers)
    local pids = run_true(1)
    local got = collect(name, 1500, function(ev) return ev.fields.pid == pids[1] end)
    s:stop()
    assert.is_true(#got >= 1)
  end)

  it("without root: ACCESS naming CAP_PERFMON and perf_event_paranoid", function()
    if sh("id -u"):match("%d+") ~= "0" or sh("command -v setpriv"):match("^%s*$") then
      pending("needs root and setpriv to run a child as nobody")
      return
    end
    local rt = os.tmpname()
    os.remove(rt)
    -- the child's own private runtime dir (TMPDIR need not be writable by nobody)
    assert(os.execute("mkdir -m 700 '" .. rt .. "' && chown nobody '" .. rt .. "'"))
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      local etw = require "etw"
      local s = assert(etw.Session("k-access"):start())
      local ok, err, code = s:enable("tracepoint:sched:sched_switch")
      print(tostring(ok) .. "|" .. tostring(code) .. "|" .. tostring(err))
      print("providers=" .. s:stats().providers)
      s:stop()
    ]])
    f:close()
    os.execute("chmod 644 " .. script)
    local exe = os.getenv("ETWLUA_EXE") or arg[-1]
    local out = sh("ETWLUA_RUNTIME_DIR=" .. rt .. " setpriv --reuid=nobody --regid=nogroup " ..
                   "--clear-groups " .. exe .. " " .. script .. " 2>&1")
    os.remove(script)
    os.execute("rm -rf " .. rt)
    assert.is_truthy(out:find("^nil|ACCESS|ACCESS: "), out)
    assert.is_truthy(out:find("needs root or CAP_PERFMON; perf_event_paranoid=%-?%d+%)"), out)
    assert.is_truthy(out:find("providers=0", 1, true), out)
  end)

  it("kernel ring loss (PERF_RECORD_LOST) counts in s:stats().lost and reaches c:on_lost", function()
    local exe = os.getenv("ETWLUA_EXE") or arg[-1]
    -- a child with 1-page rings whose reader waits 1.5 s before it reads:
    -- 5,000 one-byte reads of dd cannot fit
    local out = sh("ETWLUA_PERF_RING_PAGES=1 ETWLUA_PERF_TEST_STALL_MS=1500 " .. exe .. [[ -e '
      local etw = require "etw"
      local name = "k-lost-]] .. etw.pid() .. [["
      local s = assert(etw.Session(name):start())
      assert(s:enable("tracepoint:syscalls:sys_enter_read"))
      local c = assert(etw.Consumer { session = name })
      os.execute("dd if=/dev/zero of=/dev/null bs=1 count=5000 2>/dev/null")
      local seen, lost = 0, 0
      c:on(function() seen = seen + 1 end)
      c:on_lost(function(n) lost = lost + n end)
      c:run { timeout_ms = 3000 }
      local st = s:stats()
      print(seen, lost, st.lost)
      s:stop()' 2>&1]])
    local seen, lost, stat_lost = out:match("^(%d+)%s+(%d+)%s+(%d+)")
    assert.is_not_nil(seen, out)
    seen, lost, stat_lost = tonumber(seen), tonumber(lost), tonumber(stat_lost)
    assert.is_true(lost > 0, out)
    assert.are.equal(stat_lost, lost)
    assert.is_true(seen + lost >= 5000, out)
  end)

  it("kernel and user sources in one session survive their consumer being killed and replaced",
     function()
    local exe = os.getenv("ETWLUA_EXE") or arg[-1]
    local name = unique("k-kill")
    local s = assert(etw.Session(name):start())
    local p = etw.Provider(unique("KKill"))
    assert(s:enable(p))
    assert(s:enable("Linux-Kernel-Process"))
    -- a consumer in another process, killed (SIGKILL) while it reads
    local pid = tonumber(sh(exe .. [[ -e 'local etw = require "etw"
      local c = assert(etw.Consumer { session = "]] .. name .. [[" })
      c:on(function() end) c:run { timeout_ms = 20000 }' >/dev/null 2>&1 & echo $!]]):match("%d+"))
    local deadline = os.time() + 10
    while s:stats().consumer_pid ~= pid and os.time() < deadline do os.execute("sleep 0.05") end
    assert.are.equal(pid, s:stats().consumer_pid)
    os.execute("kill -9 " .. pid)
    while s:stats().consumer_pid ~= 0 and os.time() < deadline do os.execute("sleep 0.05") end
    -- its place is taken over; both kinds of events still arrive
    local c = assert(etw.Consumer { session = name })
    local true_pid = run_true(1)[1]
    p:write(etw.EventBuilder():reset("AfterKill"))
    local got = {}
    c:on(function(ev)
      if ev.name == "AfterKill" then got.user = true end
      if ev.name == "ProcessStart" and ev.fields.ProcessID == true_pid then got.kernel = true end
      if got.user and got.kernel then c:stop() end
    end)
    c:run { timeout_ms = 5000 }
    c:close()
    s:stop()
    assert.is_true(got.user)
    assert.is_true(got.kernel)
  end)

  it("tracefs missing (ETWLUA_TRACEFS names a directory without it): a clear error", function()
    local exe = os.getenv("ETWLUA_EXE") or arg[-1]
    local out = sh("ETWLUA_TRACEFS=/nonexistent-tracefs " .. exe .. [[ -e 'local etw = require "etw"
      local s = assert(etw.Session("k-notracefs-]] .. etw.pid() .. [["):start())
      print(select(2, s:enable("tracepoint:sched:sched_switch"))) s:stop()' 2>&1]])
    assert.are.equal("NOTFOUND: no tracefs at /nonexistent-tracefs (ETWLUA_TRACEFS): " ..
                     "/nonexistent-tracefs/events is not a directory\tNOTFOUND\n", out)
  end)

  it("kernel and user events of one session share one clock", function()
    local name = unique("k-clock")
    local s = assert(etw.Session(name):start())
    local p = etw.Provider(unique("KClock"))
    assert(s:enable(p))
    assert(s:enable("Linux-Kernel-Process"))
    local eb = etw.EventBuilder()
    p:write(eb:reset("Before"))
    local pid = run_true(1)[1]
    p:write(eb:reset("After"))
    local t = {}
    local c = assert(etw.Consumer { session = name })
    c:on(function(ev)
      if ev.name == "Before" or ev.name == "After" then t[ev.name] = ev.timestamp
      elseif ev.name == "ProcessStart" and ev.fields.ProcessID == pid then t.start = ev.timestamp end
      if t.Before and t.After and t.start then c:stop() end
    end)
    c:run { timeout_ms = 3000 }
    c:close()
    s:stop()
    assert.is_not_nil(t.start)
    assert.is_true(t.Before < t.start, "Before " .. tostring(t.Before) .. " start " .. t.start)
    assert.is_true(t.start < t.After, "start " .. t.start .. " After " .. tostring(t.After))
  end)

  it("kernel and user events of one session reach the consumer merged in time order", function()
    -- user events and this process's own opens (kernel samples) alternate;
    -- the consumer starts after all were written, so each source's ring is
    -- full and only a merge by time gives the alternation back
    local name = unique("k-merge")
    local s = assert(etw.Session(name):start())
    local p <close> = etw.Provider(unique("KMerge"))
    assert(s:enable(p))
    assert(s:enable("tracepoint:syscalls:sys_enter_openat", {pids = {etw.pid()}}))
    local eb = etw.EventBuilder()
    local N = 200
    for i = 1, N do
      eb:reset("Mark")
      eb:add_int32("i", i)
      p:write(eb)
      assert(io.open("/dev/null")):close()
    end
    local c = assert(etw.Consumer { session = name })
    local seq, last, back, first_back = {}, nil, 0, nil
    c:on(function(ev)
      local kind = ev.name == "Mark" and "u" or ev.name == "sys_enter_openat" and "k" or nil
      if not kind then return end
      if last and ev.timestamp < last then
        back = back + 1
        first_back = first_back or string.format("#%d %s after %s: %d < %d", #seq + 1, kind,
                                                 seq[#seq], ev.timestamp, last)
      end
      last = ev.timestamp
      seq[#seq + 1] = kind
      if #seq >= 2 * N then c:stop() end
    end)
    c:run { timeout_ms = 5000 }
    c:close()
    s:stop()
    local text = table.concat(seq)
    local _, switches = text:gsub("uk", "")
    assert.are.equal(0, back, "timestamps went back " .. back .. " times: " .. tostring(first_back))
    assert.is_true(#seq >= 2 * N, "events " .. #seq)
    assert.is_true(switches >= N - 20, "user/kernel alternations " .. switches .. ": " ..
                   text:sub(1, 80))
  end)

  it("a file session writes kernel events into the ETL file; etwlua dump reads them", function()
    local name = unique("k-file")
    local path = os.tmpname() .. ".etl"
    local s = assert(etw.Session(name, { mode = "file", file = path }):start())
    assert(s:enable("Linux-Kernel-Process"))
    local pids = run_true(3)
    s:stop()
    local want = {}
    for _, p in ipairs(pids) do want[p] = true end
    local c = assert(etw.Consumer { files = path })
    local n = 0
    c:on({ provider = "Linux-Kernel-Process", name = "ProcessStart" }, function(ev)
      if want[ev.fields.ProcessID] and ev.fields.ImageName == "/bin/true" then n = n + 1 end
    end)
    c:run()
    c:close()
    local exe = os.getenv("ETWLUA_EXE") or arg[-1]
    local dump = sh(exe .. " dump --format json " .. path .. " 2>&1")
    os.remove(path)
    os.remove((path:gsub("%.etl$", "")))
    assert.are.equal(3, n)
    local seen = 0
    for _, p in ipairs(pids) do
      if dump:find('"ProcessID":' .. p .. ',', 1, true) then seen = seen + 1 end
    end
    assert.are.equal(3, seen, dump:sub(1, 400))
  end)

  it("kernel sources end with the session: stop, and a stop from elsewhere", function()
    local before = perf_fds()
    local name = unique("k-end")
    local s = assert(etw.Session(name):start())
    assert(s:enable("tracepoint:sched:sched_process_exec"))
    assert.is_true(perf_fds() > before)
    s:stop()
    assert.are.equal(before, perf_fds())
    name = unique("k-end2")
    s = assert(etw.Session(name):start())
    assert(s:enable("tracepoint:sched:sched_process_exec"))
    assert(etw.stop_session(name))
    local deadline = os.time() + 10
    while perf_fds() > before and os.time() < deadline do os.execute("sleep 0.05") end
    assert.are.equal(before, perf_fds())
    s:stop()
  end)
end)

describe("provider specs on the command line (etwlua.cliutil)", function()
  local u = require "etwlua.cliutil"
  it("tracepoint:GROUP:NAME is the name, then [:level[:keywords]]", function()
    local cases = {
      ["tracepoint:sched:sched_switch"] = { "tracepoint:sched:sched_switch", 5, -1 },
      ["tracepoint:sched:sched_switch:4"] = { "tracepoint:sched:sched_switch", 4, -1 },
      ["tracepoint:sched:sched_switch:info:0x10"] = { "tracepoint:sched:sched_switch", 4, 16 },
      ["Linux-Kernel-Process:4:0x10"] = { "Linux-Kernel-Process", 4, 16 },
      ["Foo::0x4"] = { "Foo", 5, 4 },
    }
    for spec, want in pairs(cases) do
      local e = assert(u.parse_provider(spec))
      assert.are.same({ provider = want[1], level = want[2], any = want[3] }, e)
    end
  end)
  it("a tracepoint without GROUP:NAME, or with too many parts, is a usage error", function()
    local e, err = u.parse_provider("tracepoint:sched")
    assert.is_nil(e)
    assert.are.equal("bad provider spec 'tracepoint:sched' (tracepoint:GROUP:NAME[:level[:keywords]])", err)
    e, err = u.parse_provider("tracepoint:sched:x:4:0x1:9")
    assert.is_nil(e)
    assert.is_truthy(err:find("bad provider spec", 1, true))
  end)
end)

describe_kernel("etwlua watch with kernel sources", function()
  it("watch -p tracepoint:sched:sched_process_exec:info shows a command's exec", function()
    local exe = os.getenv("ETWLUA_EXE") or arg[-1]
    local out = os.tmpname()
    -- watch in the background; a loop of /bin/true runs until watch has printed
    os.execute(exe .. " watch -p tracepoint:sched:sched_process_exec:info --max-events 1 " ..
               "--duration 20 -e sched_process_exec > " .. out .. " 2>&1 & w=$!; " ..
               "for i in $(seq 1 100); do /bin/true; kill -0 $w 2>/dev/null || break; " ..
               "sleep 0.1; done; wait $w")
    local text = io.open(out):read("a")
    os.remove(out)
    assert.is_truthy(text:find("tracepoint:sched:sched_process_exec/sched_process_exec(level=4 keyword=0x0) filename=\"", 1, true), text)
  end)
end)

local describe_posix = windows and pending or describe
describe_posix("etwlua providers", function()
  local exe = os.getenv("ETWLUA_EXE") or arg[-1]
  it("--named lists the named providers' events with keyword, level and tracepoint", function()
    local out = sh(exe .. " providers --named 'linux-kernel-process/*' 2>&1; echo rc=$?")
    assert.is_truthy(out:find("Linux-Kernel-Process/ProcessStart  keyword=0x10 level=4  " ..
                              "(sched:sched_process_exec)\n", 1, true), out)
    assert.is_nil(out:find("tracepoint:", 1, true))
    out = sh(exe .. " providers --named '*ProcessStart' 2>&1; echo rc=$?")
    assert.are.equal("Linux-Kernel-Process/ProcessStart  keyword=0x10 level=4  " ..
                     "(sched:sched_process_exec)\nrc=0\n", out)
    out = sh(exe .. " providers a b 2>&1; echo rc=$?")
    assert.is_truthy(out:find("give at most one PATTERN", 1, true) and out:find("rc=2\n", 1, true), out)
  end)
end)

describe_kernel("etwlua providers with tracepoints", function()
  it("a PATTERN of one tracepoint lists it", function()
    local exe = os.getenv("ETWLUA_EXE") or arg[-1]
    local out = sh(exe .. " providers 'TRACEPOINT:sched:sched_switch' 2>&1; echo rc=$?")
    assert.are.equal("tracepoint:sched:sched_switch\nrc=0\n", out)
  end)
end)
