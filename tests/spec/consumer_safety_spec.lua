-- etw.Consumer and etw.Session under misuse: closing a consumer inside its
-- own handler, options that outlive their table, huge timeouts, unknown
-- option keys, and deadlines while events never stop coming. Cases that
-- could crash run in a child etwlua so a crash fails the case, not the run.
local etw = require "etw"

local native = os.getenv("ETWLUA_NATIVE_PROVIDER")
local windows = package.config:sub(1, 1) == "\\"
local describe_posix = windows and pending or describe
-- the POSIX cases run children of the etwlua under test
local exe = os.getenv("ETWLUA_EXE")
assert(windows or exe, "ETWLUA_EXE must name the etwlua under test")

local util = require "testutil"
local unique, tmp = util.unique, util.tmp

-- Run a Lua chunk in a child etwlua (killed after 60 s: status 137);
-- returns its output and exit status.
local function run_child(code, ...)
  local file = tmp(unique("child") .. ".lua")
  local f = assert(io.open(file, "wb"))
  f:write(code)
  f:close()
  local args = {}
  for i, a in ipairs { ... } do args[i] = "'" .. a .. "'" end
  local p = assert(io.popen(string.format("timeout -s KILL 60 '%s' '%s' %s 2>&1; echo \"rc=$?\"", exe, file,
    table.concat(args, " "))))
  local out = p:read("a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)\n?$"))
  return out:gsub("rc=%d+\n?$", ""), rc
end

-- A file of n events "E" {i} of provider Safety.Producer, written in-process.
local function make_etl(n)
  local path = tmp(unique("ev") .. ".etl")
  local s = etw.Session(unique("mk"), { mode = "file", file = path })
  assert(s:start())
  assert(s:enable("Safety.Producer"))
  local p <close> = etw.Provider("Safety.Producer")
  local eb = etw.EventBuilder()
  for i = 1, n do
    eb:reset("E"):add_int32("i", i)
    assert(p:write(eb) == 0)
  end
  s:stop()
  return path
end

local function count_events(path)
  local c <close> = assert(etw.Consumer { files = path })
  local n = 0
  c:on({ provider = "Safety.Producer" }, function() n = n + 1 end)
  c:run()
  return n
end

teardown(util.tmp_cleanup)

describe_posix("closing a consumer inside its handler", function()
  it("file consumer: run returns 'stopped' after the handler", function()
    local path = make_etl(5)
    local out, rc = run_child([[
      local etw = require "etw"
      local c = assert(etw.Consumer { files = arg[1] })
      local seen, second = 0, 0
      c:on(function() seen = seen + 1; c:close() end)
      c:on(function() second = second + 1 end)
      local n, why = c:run()
      print(n, why, seen, second, tostring(c))
      collectgarbage(); collectgarbage()
    ]], path)
    assert.equal(0, rc, out)
    assert.equal("1\tstopped\t1\t0\tetw.Consumer (closed, 0 handlers)\n", out)
  end)

  it("live consumer: run returns 'stopped' after the handler", function()
    local out, rc = run_child([[
      local etw = require "etw"
      local s <close> = etw.Session(arg[1])
      assert(s:start())
      assert(s:enable("Safety.Live"))
      local c = assert(etw.Consumer { session = arg[1] })
      local p <close> = etw.Provider("Safety.Live")
      local eb = etw.EventBuilder()
      for i = 1, 3 do p:write(eb:reset("E"):add_int32("i", i)) end
      c:on(function() c:close() end)
      print(c:run { timeout_ms = 5000 })
      collectgarbage(); collectgarbage()
      print(pcall(c.run, c))
    ]], unique("live"))
    assert.equal(0, rc, out)
    assert.matches("^1\tstopped\nfalse\t.*attempt to use a closed etw.Consumer\n$", out)
  end)

  it("events(): closing inside the loop ends the iteration", function()
    local path = make_etl(5)
    local out, rc = run_child([[
      local etw = require "etw"
      local c = assert(etw.Consumer { files = arg[1] })
      local n = 0
      for ev in c:events() do n = n + 1; c:close() end
      print(n)
    ]], path)
    assert.equal(0, rc, out)
    assert.equal("1\n", out)
  end)

  it("a handler cannot run the consumer it is called from", function()
    local path = make_etl(2)
    local c <close> = assert(etw.Consumer { files = path })
    local inner
    c:on(function() inner = select(2, pcall(c.run, c)) end)
    c:run()
    assert.matches("c:run: the consumer is running", inner)
  end)
end)

describe_posix("signal state after a handler error", function()
  it("a later SIGINT interrupts Lua code again (restored, nothing dangling)", function()
    local path = make_etl(3)
    local script = tmp(unique("err") .. ".lua")
    local f = assert(io.open(script, "wb"))
    f:write([[
      local etw = require "etw"
      local c = assert(etw.Consumer { files = arg[1] })
      c:on(function() error("boom") end)
      print(pcall(c.run, c))
      c:close(); c = nil
      collectgarbage(); collectgarbage()
      io.stdout:write("ready\n"); io.stdout:flush()
      local t = os.time()
      while os.time() - t < 8 do end
      print("not interrupted")
    ]])
    f:close()
    local out = tmp(unique("err") .. ".out")
    local p = assert(io.popen(string.format(
      "'%s' '%s' '%s' >'%s' 2>&1 & pid=$!; " ..
      "for i in $(seq 100); do grep -q ready '%s' && break; sleep 0.05; done; " ..
      "kill -INT $pid; wait $pid; echo $?", exe, script, path, out, out)))
    local rc = tonumber(p:read("l"))
    p:close()
    local text = assert(io.open(out)):read("a")
    assert.matches("false\t.*boom", text)
    assert.matches("interrupted!", text)
    assert.not_matches("not interrupted", text)
    assert.equal(130, rc, text)
  end)
end)

describe_posix("etw.Session keeps its own copy of the file path", function()
  it("changing the options table and collecting does not change the file", function()
    local dir, name = tmp(""), unique("keep")
    local out, rc = run_child([[
      local etw = require "etw"
      local dir, name = arg[1], arg[2]
      local opts = { mode = "file", file = table.concat { dir, "kept-", name, ".etl" } }
      local s = etw.Session(name, opts)
      opts.file = string.rep("H", #opts.file)
      opts = nil
      for _ = 1, 3 do collectgarbage() end
      local junk = {}
      for i = 1, 1000 do junk[i] = string.rep("H", 40 + i % 60) end
      assert(s:start())
      s:stop()
      print("done")
    ]], dir, name)
    assert.equal(0, rc, out)
    local path = dir .. "kept-" .. name .. ".etl"
    local c, err = etw.Consumer { files = path }
    assert(c, err)
    c:close()
  end)
end)

describe_posix("huge timeouts saturate", function()
  it("c:events and c:run with math.maxinteger read everything", function()
    local path = make_etl(4)
    local c <close> = assert(etw.Consumer { files = path })
    local n = 0
    for ev in c:events { timeout_ms = math.maxinteger } do
      if ev.provider == "Safety.Producer" then n = n + 1 end
    end
    assert.equal(4, n)
    local c2 <close> = assert(etw.Consumer { files = path })
    local m = 0
    c2:on({ provider = "Safety.Producer" }, function() m = m + 1 end)
    local _, why = c2:run { timeout_ms = math.maxinteger }
    assert.equal("stopped", why)
    assert.equal(4, m)
  end)

  it("s:wait and p:wait with math.maxinteger return when the wait ends", function()
    local out, rc = run_child([[
      local etw = require "etw"
      local s <close> = etw.Session(arg[1])
      assert(s:start())
      os.execute("(sleep 0.3; '" .. arg[2] .. "' stop " .. arg[1] .. ") >/dev/null 2>&1 &")
      print(s:wait(math.maxinteger))
      local p = assert(etw.spawn { "sleep", "0.2" })
      print(p:wait(math.maxinteger))
    ]], unique("wait"), exe)
    assert.equal(0, rc, out)
    assert.equal("stopped\nexit\t0\n", out)
  end)
end)

describe_posix("options tables", function()
  it("reject unknown keys, naming the key and the choices", function()
    local path = make_etl(1)
    local c <close> = assert(etw.Consumer { files = path })
    assert.has_error(function() c:run { timeout = 1 } end,
      "c:run: unknown option 'timeout' (expected one of: timeout_ms, max_events)")
    assert.has_error(function() c:events { max_events = 1 } end,
      "c:events: unknown option 'max_events' (expected one of: timeout_ms)")
    assert.has_error(function() c:run { 1 } end,
      "c:run: unknown option '1' (expected one of: timeout_ms, max_events)")
    assert.has_error(function() c:run(5) end, "c:run: options must be a table, got number")
    assert.has_error(function() etw.Consumer { files = path, sesion = "x" } end,
      "etw.Consumer: unknown option 'sesion' (expected one of: session, files, on_error, reader, manifests)")
    assert.has_error(function() etw.Provider("P", { ids = "x" }) end,
      "etw.Provider: unknown option 'ids' (expected one of: id, group_id)")
  end)

  it("bad values name the option", function()
    local path = make_etl(1)
    local c <close> = assert(etw.Consumer { files = path })
    assert.has_error(function() c:run { timeout_ms = -5 } end,
      "c:run: bad option 'timeout_ms': must be an integer >= 0, got -5")
    assert.has_error(function() c:run { max_events = 1.5 } end,
      "c:run: bad option 'max_events': must be an integer >= 0, got 1.5")
    assert.has_error(function() etw.Session("x", { mode = "foo" }) end,
      "etw.Session: bad option 'mode': expected one of realtime, file, circular, got 'foo'")
    assert.has_error(function() etw.Session("x", { mode = "file", file = 3 }) end,
      "etw.Session: bad option 'file': must be a path (string), got number")
    assert.has_error(function() etw.Consumer { files = path, on_error = "ignore" } end,
      "etw.Consumer: bad option 'on_error': expected one of stop, continue, got 'ignore'")
    assert.has_error(function() etw.Consumer { files = path, reader = 1 } end,
      "etw.Consumer: bad option 'reader': expected one of auto, etw, etwlua, got '1'")
    assert.has_error(function() etw.Consumer { session = 1 } end,
      "etw.Consumer: bad option 'session': must be a session name (string)")
  end)
end)

describe_posix("deadlines while events keep coming", function()
  it("c:run{timeout_ms} ends on time under a producer that never pauses", function()
    assert(native, "ETWLUA_NATIVE_PROVIDER must name the C example producer")
    local name = unique("busy")
    local s <close> = etw.Session(name)
    assert(s:start())
    assert(s:enable("EtwLua.Native"))
    local c <close> = assert(etw.Consumer { session = name })
    local seen = 0
    -- decoding every event keeps the consumer slower than the producer
    c:on(function(ev) seen = seen + (ev.fields and 1 or 1) end)
    -- a producer writing flat out for at most 20 s (killed below)
    local f = assert(io.popen("timeout 20 '" .. native .. "' 100000000000 >/dev/null 2>&1 & echo $!"))
    local pid = assert(math.tointeger(tonumber(f:read("l"))))
    f:close()
    finally(function()
      -- timeout passes the TERM on and ends with its child; the listing then
      -- removes the providers file the killed producer could not
      os.execute("kill " .. pid .. " 2>/dev/null; for i in $(seq 100); do kill -0 " .. pid ..
                 " 2>/dev/null || break; sleep 0.05; done")
      etw.user_providers()
    end)
    local ok, err = pcall(function()
      local n0 = c:run { timeout_ms = 5000, max_events = 1000 }   -- the stream is flowing
      assert.equal(1000, n0)
      local t0 = os.time()
      local _, why = c:run { timeout_ms = 500 }
      local took = os.time() - t0
      assert.equal("timeout", why)
      assert.is_true(took <= 5, "a 0.5 s run took " .. took .. " s")
    end)
    assert(ok, err)
    assert.is_true(seen > 1000)
  end)
end)

-- With on_error="stop", c:run calls handlers without a protected call of
-- their own (lconsumer.c protected_call): the error still comes out once,
-- with the handler's traceback, and is counted; errors the handler catches
-- itself are not.
describe_posix("a handler's error with on_error='stop'", function()
  local path
  setup(function() path = make_etl(10) end)

  local function failing_run(setup_fn)
    local c <close> = assert(etw.Consumer { files = path })
    setup_fn(c)
    local ok, err = pcall(c.run, c)
    return ok, err, c:stats()
  end

  local function count(s, pat)
    local n = 0
    for _ in s:gmatch(pat) do n = n + 1 end
    return n
  end

  it("handler: message, one traceback naming the handler, counted once", function()
    local seen = 0
    local ok, err, st = failing_run(function(c)
      c:on({ provider = "Safety.Producer" }, function(ev)
        seen = seen + 1
        if ev.fields.i == 3 then error("boom at 3") end
      end)
    end)
    assert.is_false(ok)
    assert.matches("boom at 3", err)
    assert.equal(1, count(err, "stack traceback:"))
    assert.matches("consumer_safety_spec%.lua:%d+: in function", err)
    assert.equal(3, seen)
    assert.equal(1, st.errors)
    assert.equal(3, st.delivered)
  end)

  it("filter function and projection handler: same rules", function()
    local ok, err, st = failing_run(function(c)
      c:on(function(ev) if ev.fields.i == 2 then error({}) end return true end, function() end)
    end)
    assert.is_false(ok)
    assert.matches("%(error object is a table value%)", err)
    assert.equal(1, count(err, "stack traceback:"))
    assert.equal(1, st.errors)
    ok, err, st = failing_run(function(c)
      c:on({ fields = { "i" } }, function(_, i) if i == 5 then error("proj " .. i, 0) end end)
    end)
    assert.is_false(ok)
    assert.matches("^proj 5\nstack traceback:", err)
    assert.equal(1, st.errors)
  end)

  it("errors a handler catches are neither counted nor stop the run", function()
    local caught = 0
    local c <close> = assert(etw.Consumer { files = path })
    c:on({ provider = "Safety.Producer" }, function()
      if not pcall(error, "inner") then caught = caught + 1 end
    end)
    local _, why = c:run()
    assert.same({ "stopped", 10, 0 }, { why, caught, c:stats().errors })
  end)

  it("a later run after a failed one counts afresh", function()
    local c <close> = assert(etw.Consumer { files = path })
    c:on(function() error("first") end)
    assert.is_false((pcall(c.run, c)))
    assert.equal(1, c:stats().errors)
  end)
end)
