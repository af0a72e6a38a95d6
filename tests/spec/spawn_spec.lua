-- etw.spawn / etw.Process on every platform: exit codes, waits with a
-- timeout, kill, failures to start, argument checks. (POSIX process groups
-- and signals: signal_spec.lua.) Every wait is bounded.
local etw = require "etw"

local windows = package.config:sub(1, 1) == "\\"

-- a command ending with status 3, one that never ends (loops inside the
-- shell itself: no grandchild), one that does not exist
local exit3 = windows and { "cmd.exe", "/c", "exit 3" } or { "sh", "-c", "exit 3" }
local forever = windows and { "cmd.exe", "/c", "for /l %i in (1,0,2) do @rem" }
                        or { "sh", "-c", "while :; do :; done" }
local missing = windows and "Z:\\nonexistent\\etwlua-no-such.exe" or "/nonexistent/etwlua-no-such-command"

describe("etw.spawn", function()
  it("runs a command and reports its exit code, kept for later waits", function()
    local p = assert(etw.spawn(exit3))
    assert.is_true(math.type(p.pid) == "integer" and p.pid > 0)
    assert.same({ "exit", 3 }, { p:wait(30000) })
    assert.same({ "exit", 3 }, { p:wait(30000) })
    assert.matches("^etw.Process %d+ %(ended%)$", tostring(p))
  end)

  it("waits with a timeout, then kills", function()
    local p = assert(etw.spawn(forever))
    assert.equal("timeout", p:wait(200))
    assert.matches("%(running%)$", tostring(p))
    assert.is_true(p:kill("SIGKILL"))
    local how, v = p:wait(30000)
    if windows then
      assert.equal("exit", how)            -- TerminateProcess: an exit code
    else
      assert.same({ "signal", 9 }, { how, v })
    end
    assert.is_true(p:kill())               -- ended: nothing to signal, no error
  end)

  it("a command that cannot start is a failure, not an error", function()
    local p, err, code = etw.spawn { missing }
    assert.is_nil(p)
    assert.equal("NOTFOUND", code)
    assert.equal("NOTFOUND: " .. missing .. ": No such file or directory", err)
  end)

  it("rejects bad arguments", function()
    assert.has_error(function() etw.spawn("ls") end,
      "bad argument #1 to 'spawn' (table expected, got string)")
    assert.has_error(function() etw.spawn {} end,
      "bad argument #1 to 'spawn' (command must be a list of 1..4096 strings)")
    assert.has_error(function() etw.spawn { "ls", 3 } end,
      "bad argument #1 to 'spawn' (item 2 must be a string)")
    assert.has_error(function() etw.spawn { "" } end,
      "bad argument #1 to 'spawn' (item 1 must be a non-empty string without NUL)")
    local p = assert(etw.spawn(exit3))
    assert.has_error(function() p:kill("SIGFOO") end,
      "bad argument #1 to 'kill' (signal must be one of SIGINT, SIGTERM, SIGHUP, SIGKILL)")
    assert.has_error(function() p:wait(-5) end, "bad argument #1 to 'wait' (timeout_ms must be >= 0)")
    p:wait(30000)
  end)
end)
