-- SIGINT, SIGTERM and SIGHUP: one path (src/lua/lsignal.c). Blocking calls
-- (c:run, c:events, s:wait, p:wait) return "interrupted" and name the
-- signal; Lua code elsewhere is interrupted as lua.c does Ctrl+C and exits
-- 128 + signal after closing what it owns; no session is left behind.
-- Every child is started and signalled by pid and waited for with a bound.
local etw = require "etw"

local windows = package.config:sub(1, 1) == "\\"
local describe_posix = windows and pending or describe
-- the POSIX cases run children of the etwlua under test
local exe = os.getenv("ETWLUA_EXE")
assert(windows or exe, "ETWLUA_EXE must name the etwlua under test")

local util = require "testutil"
local unique, tmp = util.unique, util.tmp

teardown(util.tmp_cleanup)

local sh = require("testutil").sh

-- Run `code` (with arg[1] = name) in a child etwlua; once it printed
-- "ready", send it SIG; returns its output and exit status (at most 10 s,
-- then it is killed and the status is 137).
local function signalled(code, name, sig)
  local script, out = tmp(unique("sig") .. ".lua"), tmp(unique("sig") .. ".out")
  local f = assert(io.open(script, "wb"))
  f:write(code)
  f:close()
  local rc = sh(string.format([[
    '%s' '%s' '%s' >'%s' 2>&1 & pid=$!
    for i in $(seq 200); do grep -q ready '%s' && break; sleep 0.05; done
    sleep 0.1; kill -%s $pid
    for i in $(seq 200); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
    kill -9 $pid 2>/dev/null; wait $pid; echo $?]], exe, script, name, out, out, sig))
  local text = assert(io.open(out, "rb")):read("a")
  return (text:gsub("^ready\n", "")), tonumber(rc)
end

local function session_names()
  local names = {}
  for _, info in ipairs(etw.sessions()) do names[info.name] = info.state end
  return names
end

local run_script = [[
  local etw = require "etw"
  local s <close> = etw.Session(arg[1])
  assert(s:start())
  assert(s:enable("Sig.Provider"))
  local c <close> = assert(etw.Consumer { session = arg[1] })
  c:on(function() end)
  io.stdout:write("ready\n"); io.stdout:flush()
  local n, why, sig = c:run()
  print(n, why, sig, c.signal)
]]

local wait_script = [[
  local etw = require "etw"
  local s <close> = etw.Session(arg[1])
  assert(s:start())
  io.stdout:write("ready\n"); io.stdout:flush()
  print(s:wait())
]]

local events_script = [[
  local etw = require "etw"
  local s <close> = etw.Session(arg[1])
  assert(s:start())
  assert(s:enable("Sig.Provider"))
  local c <close> = assert(etw.Consumer { session = arg[1] })
  io.stdout:write("ready\n"); io.stdout:flush()
  local n = 0
  for _ in c:events() do n = n + 1 end
  print("ended", n, c.signal)
]]

local busy_script = [[
  local etw = require "etw"
  local s = etw.Session(arg[1])       -- not closed by the script itself
  assert(s:start())
  io.stdout:write("ready\n"); io.stdout:flush()
  local t = os.time()
  while os.time() - t < 8 do end
  print("not interrupted")
]]

describe_posix("signals in blocking calls", function()
  for _, sig in ipairs { "INT", "TERM", "HUP" } do
    it("c:run returns 'interrupted' and 'SIG" .. sig .. "'", function()
      local name = unique("run")
      local out, rc = signalled(run_script, name, sig)
      assert.equal(0, rc, out)
      assert.equal("0\tinterrupted\tSIG" .. sig .. "\tSIG" .. sig .. "\n", out)
      assert.is_nil(session_names()[name])
    end)

    it("s:wait returns 'interrupted' and 'SIG" .. sig .. "'", function()
      local name = unique("wait")
      local out, rc = signalled(wait_script, name, sig)
      assert.equal(0, rc, out)
      assert.equal("interrupted\tSIG" .. sig .. "\n", out)
      assert.is_nil(session_names()[name])
    end)

    it("etw.sleep returns 'interrupted' and 'SIG" .. sig .. "' long before its time", function()
      local out, rc = signalled([[
        local etw = require "etw"
        io.stdout:write("ready\n"); io.stdout:flush()
        local t = os.time()
        local why, name = etw.sleep(60)
        print(why, name, os.time() - t < 30)
      ]], unique("sleep"), sig)
      assert.equal(0, rc, out)
      assert.equal("interrupted\tSIG" .. sig .. "\ttrue\n", out)
    end)

    it("c:events ends and c.signal says SIG" .. sig, function()
      local name = unique("ev")
      local out, rc = signalled(events_script, name, sig)
      assert.equal(0, rc, out)
      assert.equal("ended\t0\tSIG" .. sig .. "\n", out)
      assert.is_nil(session_names()[name])
    end)
  end

  it("after an interrupted run the consumer says no signal on a normal end", function()
    local out, rc = signalled([[
      local etw = require "etw"
      local s <close> = etw.Session(arg[1])
      assert(s:start())
      local c <close> = assert(etw.Consumer { session = arg[1] })
      io.stdout:write("ready\n"); io.stdout:flush()
      print(c:run())
      s:stop()
      print(c:run { timeout_ms = 2000 })
      print(c.signal)
    ]], unique("again"), "TERM")
    assert.equal(0, rc, out)
    assert.equal("0\tinterrupted\tSIGTERM\n0\tstopped\nnil\n", out)
  end)
end)

describe_posix("signals in Lua code", function()
  for sig, num in pairs { INT = 2, TERM = 15, HUP = 1 } do
    it("SIG" .. sig .. " interrupts, closes the session and exits " .. 128 + num, function()
      local name = unique("busy")
      local out, rc = signalled(busy_script, name, sig)
      assert.equal(128 + num, rc, out)
      assert.matches("interrupted!", out)
      assert.not_matches("not interrupted", out)
      assert.is_nil(session_names()[name], "no stale session")
    end)
  end
end)

describe_posix("etw.spawn", function()
  it("runs a command in its own process group and reports how it ended", function()
    local p = assert(etw.spawn { "sh", "-c", "exit 3" })
    assert.is_true(math.type(p.pid) == "integer" and p.pid > 0)
    assert.same({ "exit", 3 }, { p:wait(10000) })
    assert.same({ "exit", 3 }, { p:wait(10000) })        -- the status is kept
    local q = assert(etw.spawn { "sh", "-c", "kill -9 $$" })
    assert.same({ "signal", 9 }, { q:wait(10000) })
  end)

  it("puts the child in a group of its own", function()
    local out = tmp(unique("pgid"))
    local p = assert(etw.spawn { "sh", "-c", "ps -o pid=,pgid= -p $$ > '" .. out .. "'" })
    assert.same({ "exit", 0 }, { p:wait(10000) })
    local pid, pgid = assert(io.open(out)):read("a"):match("(%d+)%s+(%d+)")
    assert.equal(pid, pgid)
    assert.equal(tostring(p.pid), pid)
  end)

  it("waits with a timeout and kills the whole group", function()
    local marks = tmp(unique("grand"))
    local p = assert(etw.spawn { "sh", "-c", "sleep 30 & echo $! > '" .. marks .. "'; wait" })
    assert.equal("timeout", p:wait(200))
    local grandchild = assert(io.open(marks)):read("l")
    assert.is_true(p:kill("SIGTERM"))
    local how, sig = p:wait(10000)
    assert.same({ "signal", 15 }, { how, sig })
    local alive = sh("sleep 0.2; ps -o stat= -p " .. grandchild .. " | grep -v Z")
    assert.equal("", alive, "the grandchild got the signal too")
  end)

  it("p:wait is interrupted by a signal and returns its name", function()
    local out, rc = signalled([[
      local etw = require "etw"
      local p = assert(etw.spawn { "sleep", "30" })
      io.stdout:write("ready\n"); io.stdout:flush()
      print(p:wait())
      p:kill("SIGKILL")
      print(p:wait())
    ]], "x", "HUP")
    assert.equal(0, rc, out)
    assert.equal("interrupted\tSIGHUP\nsignal\t9\n", out)
  end)
end)
