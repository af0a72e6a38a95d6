-- etw.Session, etw.Consumer and etw.sessions on the Linux session engine,
-- with producers in child processes (etwlua scripts and the C example).
local etw = require "etw"

local exe = os.getenv("ETWLUA_EXE")
local native = os.getenv("ETWLUA_NATIVE_PROVIDER")
local src = os.getenv("ETWLUA_SOURCE") or "."
local producer = src .. "/tests/spec/fixtures/producer.lua"
local windows = package.config:sub(1, 1) == "\\"
local describe_posix = windows and pending or describe

-- ETWLUA_EXE is set by ctest: without it the producer tests cannot run,
-- which is a failure, not a skip
describe_posix("the test environment", function()
  it("names the etwlua under test (ETWLUA_EXE)", function()
    assert(exe and exe ~= "", "ETWLUA_EXE is not set")
  end)
end)

local counter = 0
local function unique(prefix)
  counter = counter + 1
  return string.format("%s-%d-%d", prefix, etw.pid(), counter)
end

-- Start a command in the background; returns its pid.
local function spawn(cmd)
  local f = assert(io.popen("(" .. cmd .. ") >/dev/null 2>&1 & echo $!"))
  local pid = math.tointeger(tonumber(f:read("l")))
  f:close()
  return pid
end

local function sh(cmd)
  local f = assert(io.popen(cmd .. " 2>&1"))
  local out = f:read("a")
  local ok, _, code = f:close()
  return out, ok and 0 or code
end

local function started(name, opts)
  local s = etw.Session(name, opts or { flush_ms = 10 })
  assert(s:start())
  return s
end

describe_posix("etw.Session [#shm]", function()
  it("starts, enables, reports stats and stops", function()
    local name = unique("s")
    local s <close> = started(name)
    assert.equal(name, s.name)
    assert.is_true(s:is_running())
    assert.equal(s, s:enable("Some.Provider", { level = 3, any = 0x10 }))
    local st = s:stats()
    assert.equal(1, st.providers)
    assert.equal(0, st.events)
    local found
    for _, info in ipairs(etw.sessions()) do
      if info.name == name then found = info end
    end
    assert.is_not_nil(found)
    assert.equal("running", found.state)
    assert.equal(etw.pid(), found.owner_pid)
    s:stop()
    assert.is_false(s:is_running())
    for _, info in ipairs(etw.sessions()) do assert.are_not.equal(name, info.name) end
    assert.has_error(function() s:enable("X") end, "attempt to use a stopped etw.Session")
  end)

  it("returns EXISTS for a second running session of the same name", function()
    local name = unique("dup")
    local s <close> = started(name)
    local ok, err, code = etw.Session(name):start()
    assert.is_nil(ok)
    assert.equal("EXISTS", code)
    assert.matches("^EXISTS: ", err)
  end)

  it("replace = true stops a running session of the same name and starts anew", function()
    local name = unique("rep")
    local old <close> = started(name)
    old:enable("Some.Provider")
    local s <close> = etw.Session(name, { replace = true, flush_ms = 10 })
    assert.equal(s, s:start())
    local n = 0
    for _, info in ipairs(etw.sessions()) do
      if info.name == name then
        n = n + 1
        assert.equal(0, info.providers)
      end
    end
    assert.equal(1, n)
    local ok, _, code = old:stats()
    assert.is_nil(ok)
    assert.equal("STOPPED", code)
    old:stop()
    assert.is_true(s:is_running())
    assert.equal(0, s:stats().providers)
    assert.has_error(function() etw.Session(name, { replace = 1 }) end,
      "etw.Session: bad option 'replace': must be a boolean, got number")
  end)

  it("rejects bad options with the rule", function()
    assert.has_error(function() etw.Session("x", { bogus = 1 }) end,
      "etw.Session: unknown option 'bogus' (expected one of: mode, file, buffer_kb, min_buffers, "
      .. "max_buffers, flush_ms, max_mb, replace, file_mode, kernel)")
    assert.has_error(function() etw.Session("x", { buffer_kb = 1 }) end,
      "etw.Session: bad option 'buffer_kb': must be an integer 4..16384, got 1")
    assert.has_error(function() etw.Session("") end)
    local s <close> = started(unique("opt"))
    assert.has_error(function() s:enable("P", { level = 300 }) end, "enable: option 'level' must be 0..255")
    assert.has_error(function() s:enable("P", { anything = 1 }) end,
      "enable: unknown option 'anything' (expected one of: level, any, all, stack, sid, session_id, process_start_key, "
      .. "event_key, ignore_keyword_0, pids, exe_names, event_ids, exclude_event_ids, event_names, "
      .. "exclude_event_names)")
    assert.has_error(function() s:enable("P", { stack = 1 }) end, "enable: option 'stack' must be a boolean")
    assert.has_error(function() s:enable("P", { pids = {} }) end, "enable: option 'pids' must hold 1..8 process ids")
    assert.has_error(function() s:enable("P", { pids = { 1, 2, 3, 4, 5, 6, 7, 8, 9 } }) end,
      "enable: option 'pids' must hold 1..8 process ids")
    assert.has_error(function() s:enable("P", { pids = { 1, -2 } }) end,
      "enable: option 'pids' item 2 must be a process id (0..4294967295)")
    assert.has_error(function() s:enable("P", { event_ids = 5 }) end, "enable: option 'event_ids' must be a list of event ids")
    assert.has_error(function() s:enable("P", { exclude_event_ids = { 70000 } }) end,
      "enable: option 'exclude_event_ids' item 1 must be an event id (0..65535)")
    local ids = {}
    for i = 1, 65 do ids[i] = i end
    assert.has_error(function() s:enable("P", { event_ids = ids }) end, "enable: option 'event_ids' must hold 1..64 event ids")
    assert.has_error(function() s:enable("P", { event_ids = { 1 }, exclude_event_ids = { 2 } }) end,
      "enable: give 'event_ids' or 'exclude_event_ids', not both")
    assert.has_error(function() s:enable("P", { exe_names = { "a.exe", "b;c.exe" } }) end,
      "enable: option 'exe_names' item 2 must not contain ';' or NUL")
    assert.has_error(function() s:enable("P", { exe_names = { string.rep("x", 1100) } }) end,
      "enable: option 'exe_names' must be shorter than 1,024 bytes in all")
    assert.has_error(function() s:enable("P", { event_names = { "" } }) end,
      "enable: option 'event_names' item 1 must be a non-empty string")
    assert.has_error(function() s:enable("P", { event_names = { string.rep("n", 4090) } }) end,
      "enable: option 'event_names' must total at most 4,076 bytes of names")
  end)

  it("leaves provider-side filters to ETW and says so on Linux", function()
    local s <close> = started(unique("filt"))
    for _, opts in ipairs({ { stack = true }, { sid = true }, { pids = { 1 } }, { exe_names = "a.exe" },
                            { event_ids = { 1, 2 } }, { exclude_event_names = { "Hello" } } }) do
      local ok, err, code = s:enable("P", opts)
      assert.is_nil(ok)
      assert.equal("UNSUPPORTED", code)
      assert.matches("need ETW %(Windows%); filter in the consumer instead", err)
    end
    -- false properties are no properties: a plain enable
    assert.equal(s, s:enable("P", { stack = false, sid = false, level = 4 }))
  end)

  it("is stopped when its process exits, even on an error", function()
    local name = unique("exit")
    local _, code = sh(string.format("%q -e %q", exe,
      "local etw = require 'etw'; local s = etw.Session('" .. name .. "'); assert(s:start()); error('boom')"))
    assert.equal(1, code)
    for _, info in ipairs(etw.sessions()) do assert.are_not.equal(name, info.name) end
    _, code = sh(string.format("%q -e %q", exe,
      "local etw = require 'etw'; local s = etw.Session('" .. name .. "'); assert(s:start()); os.exit(0)"))
    assert.equal(0, code)
    for _, info in ipairs(etw.sessions()) do assert.are_not.equal(name, info.name) end
  end)

  it("shows a session whose owner was killed as stale; stop and restart remove it", function()
    local name = unique("stale")
    local pid = spawn(string.format("%q -e %q", exe,
      "local etw = require 'etw'; local s = etw.Session('" .. name .. "'); assert(s:start()); while true do end"))
    local state
    for _ = 1, 200 do             -- wait until the child has started its session
      for _, info in ipairs(etw.sessions()) do if info.name == name then state = info.state end end
      if state then break end
      os.execute("sleep 0.02")
    end
    assert.equal("running", state)
    os.execute("kill -9 " .. pid .. "; sleep 0.1")
    for _, info in ipairs(etw.sessions()) do if info.name == name then state = info.state end end
    assert.equal("stale", state)
    local out, code = sh(string.format("%q stop %q", exe, name))
    assert.equal(0, code, out)
    for _, info in ipairs(etw.sessions()) do assert.are_not.equal(name, info.name) end
    -- a stale session is also replaced by starting one of the same name
    pid = spawn(string.format("%q -e %q", exe,
      "local etw = require 'etw'; local s = etw.Session('" .. name .. "'); assert(s:start()); while true do end"))
    os.execute("sleep 0.3; kill -9 " .. pid .. "; sleep 0.1")
    local s <close> = started(name)
    assert.is_true(s:is_running())
  end)
end)

describe_posix("etw.Consumer [#shm]", function()
  it("gets every event of a C producer once, in order, with header fields", function()
    local name = unique("native")
    local s <close> = started(name)
    s:enable("EtwLua.Native", { level = 5 })
    local c <close> = assert(etw.Consumer { session = name })
    local seen, last, pid = 0, -1, nil
    c:on({ provider = "EtwLua.Native", name = "Tick" }, function(ev)
      assert.equal(last + 1, ev.fields.i)
      last = ev.fields.i
      assert.equal(ev.fields.i * ev.fields.i, ev.fields.square)
      assert.equal("hello-etw", ev.fields.msg)
      assert.equal(4, ev.level)
      assert.equal(etw.providerid_from_name("EtwLua.Native"), ev.provider_id)
      assert.equal("EtwLua.Native", ev.provider)
      assert.is_true(ev.tid > 0)
      pid = pid or ev.pid
      assert.equal(pid, ev.pid)
      seen = seen + 1
      if seen == 2000 then c:stop() end
    end)
    local child = spawn(native .. " 2000")
    local n, reason = c:run { timeout_ms = 10000 }
    assert.equal("stopped", reason)
    assert.equal(2000, n)
    assert.equal(child, pid)
    assert.equal(0, c:stats().lost)
  end)

  it("gets every event of two Lua producers, in order per process", function()
    local name = unique("lua")
    local s <close> = started(name)
    s:enable("Test.Producer", { level = 5 })
    local c <close> = assert(etw.Consumer { session = name })
    local next_n, total = {}, 0
    c:on({ name = "Seq" }, function(ev)
      local want = (next_n[ev.pid] or 0) + 1
      assert.equal(want, ev.fields.n)
      assert.equal("event " .. want, ev.fields.text)
      assert.equal(want / 2, ev.fields.half)
      next_n[ev.pid] = want
      total = total + 1
      if total == 2 * 3000 then c:stop() end
    end)
    spawn(string.format("%q %q Test.Producer 3000", exe, producer))
    spawn(string.format("%q %q Test.Producer 3000", exe, producer))
    local n, reason = c:run { timeout_ms = 15000 }
    assert.equal("stopped", reason)
    assert.equal(6000, n)
    local procs = 0
    for _, v in pairs(next_n) do procs = procs + 1; assert.equal(3000, v) end
    assert.equal(2, procs)
  end)

  it("matches table filters in C and function filters in Lua", function()
    local name = unique("filters")
    local s <close> = started(name)
    local p <close> = etw.Provider("Test.Filters")
    s:enable(p, { level = 5 })
    local c <close> = assert(etw.Consumer { session = name })
    local got = { warn = 0, kw4 = 0, id7 = 0, fn = 0, other = 0, all = 0 }
    c:on({ provider = p.id, level = 3 }, function() got.warn = got.warn + 1 end)
    c:on({ keyword = 0x4 }, function() got.kw4 = got.kw4 + 1 end)
    c:on({ id = 7, name = "E" }, function() got.id7 = got.id7 + 1 end)
    c:on({ provider = "Other.Provider" }, function() got.other = got.other + 1 end)
    c:on(function(ev) return ev.fields.v % 2 == 0 end, function() got.fn = got.fn + 1 end)
    c:on(function() got.all = got.all + 1 end)
    local eb = etw.EventBuilder()
    for v = 1, 10 do
      eb:reset("E", { level = v <= 4 and 3 or 5, keyword = v <= 2 and 0x4 or 0x1, id = v == 7 and 7 or 0 })
      eb:add_int32("v", v)
      assert.equal(0, p:write(eb))
    end
    s:flush()
    local n, reason = c:run { timeout_ms = 5000, max_events = 10 }
    assert.equal("max_events", reason)
    assert.same({ warn = 4, kw4 = 2, id7 = 1, fn = 5, other = 0, all = 10 }, got)
    assert.equal(10, c:stats().events)
    assert.has_error(function() c:on({ bogus = 1 }, print) end,
      "on: unknown filter field 'bogus' (provider, name, id, level, opcode, task, keyword, where, fields)")
  end)

  it("stops run with the handler's traceback, or counts errors with on_error='continue'", function()
    local name = unique("errors")
    local s <close> = started(name)
    local p <close> = etw.Provider("Test.Errors")
    s:enable(p)
    local eb = etw.EventBuilder():reset("E"):add_int32("v", 1)
    local c <close> = assert(etw.Consumer { session = name })
    local function failing_handler() error("handler failed") end
    c:on(failing_handler)
    p:write(eb)
    s:flush()
    local ok, err = pcall(c.run, c, { timeout_ms = 5000 })
    assert.is_false(ok)
    assert.matches("handler failed", err)
    assert.matches("stack traceback:", err)
    assert.matches("session_spec%.lua:%d+: in function", err)

    c:close()
    local c2 <close> = assert(etw.Consumer { session = name, on_error = "continue" })
    c2:on(failing_handler)
    for _ = 1, 3 do p:write(eb) end
    s:flush()
    local n, reason = c2:run { timeout_ms = 5000, max_events = 3 }
    assert.equal(3, n)
    assert.equal("max_events", reason)
    assert.equal(3, c2:stats().errors)
    assert.matches("handler failed", c2:stats().last_error)
  end)

  it("delivers events pull-style with c:events()", function()
    local name = unique("pull")
    local s <close> = started(name)
    local p <close> = etw.Provider("Test.Pull")
    s:enable(p)
    local c <close> = assert(etw.Consumer { session = name })
    local eb = etw.EventBuilder()
    for i = 1, 5 do p:write(eb:reset("P"):add_int32("i", i)) end
    s:flush()
    local got = {}
    for ev in c:events { timeout_ms = 300 } do got[#got + 1] = ev.fields.i end
    assert.same({ 1, 2, 3, 4, 5 }, got)
  end)

  it("returns NOTFOUND for a session that does not exist", function()
    local c, err, code = etw.Consumer { session = unique("none") }
    assert.is_nil(c)
    assert.equal("NOTFOUND", code)
    assert.matches("NOTFOUND", err)
    assert.has_error(function() etw.Consumer {} end,
      "etw.Consumer: give exactly one of 'session' (a name) or 'files' (a list)")
  end)

  it("makes is_enabled follow enable, disable and stop", function()
    local name = unique("enable")
    local p <close> = etw.Provider("Test.Enable")
    assert.is_false(p:is_enabled())
    local s <close> = started(name)
    s:enable(p, { level = 3, any = 0x6, all = 0x2 })
    assert.is_true(p:is_enabled())
    assert.is_true(p:is_enabled(3, 0x2))
    assert.is_false(p:is_enabled(4, 0x2))
    assert.is_false(p:is_enabled(3, 0x4))   -- all=0x2 not satisfied
    assert.is_true(p:is_enabled(3, 0))      -- keyword 0: any keyword
    s:disable(p)
    assert.is_false(p:is_enabled())
    s:enable(p)
    assert.is_true(p:is_enabled(5, 0x8000))
    s:stop()
    assert.is_false(p:is_enabled())
  end)

  it("stops run cleanly on SIGINT", function()
    local name = unique("sigint")
    local script = string.format([[
      local etw = require "etw"
      local s = etw.Session(%q); assert(s:start())
      local c = assert(etw.Consumer{session = %q})
      io.stdout:write("ready\n"); io.stdout:flush()
      local n, reason = c:run()
      print("run returned", n, reason)
    ]], name, name)
    local out = sh(string.format(
      "%q -e %q > /tmp/etwlua-sigint-%s.out 2>&1 & pid=$!; for i in $(seq 100); do grep -q ready /tmp/etwlua-sigint-%s.out && break; sleep 0.05; done; kill -INT $pid; wait $pid; echo status=$?; cat /tmp/etwlua-sigint-%s.out; rm -f /tmp/etwlua-sigint-%s.out",
      exe, script, name, name, name, name))
    assert.matches("status=0", out)
    assert.matches("run returned\t0\tinterrupted", out)
    for _, info in ipairs(etw.sessions()) do assert.are_not.equal(name, info.name) end
  end)
end)
