-- c:every on live sessions (wall clock), and etw.now() against live event
-- timestamps. Sessions are POSIX here (under Wine there is no ETW session:
-- pending). Bounds on durations are generous (the machine is loaded).
local etw = require "etw"

local windows = package.config:sub(1, 1) == "\\"
local describe_posix = windows and pending or describe

local counter = 0
local function unique(prefix)
  counter = counter + 1
  return string.format("%s-%d-%d", prefix, etw.pid(), counter)
end

describe_posix("etw.now with live events", function()
  it("is comparable with the timestamp of a live event", function()
    local s <close> = etw.Session(unique("now"))
    assert(s:start())
    local p <close> = etw.Provider(unique("Time.Now"))
    assert(s:enable(p))
    local c <close> = assert(etw.Consumer { session = s.name })
    local before = etw.now()
    local eb = etw.EventBuilder()
    eb:reset("E")
    p:write(eb)
    local ts
    c:on(function(ev) ts = ev.timestamp; c:stop() end)
    c:run { timeout_ms = 10000 }
    local after = etw.now()
    assert.is_not_nil(ts)
    -- within a second of the moments around the write
    assert.is_true(ts >= before - 10000000 and ts <= after + 10000000,
      string.format("%d not within [%d, %d]", ts, before, after))
  end)
end)

describe_posix("c:every on a session consumer", function()
  local function session()
    local s = etw.Session(unique("every"))
    assert(s:start())
    return s
  end
  local function consumer(s) return assert(etw.Consumer { session = s.name }) end

  it("calls fn on the wall clock while c:run waits, with etw.now()-like times", function()
    local s <close> = session()
    local c <close> = consumer(s)
    local calls = {}
    assert.equal(c, c:every(0.05, function(t) calls[#calls + 1] = t end))
    local t0 = etw.now()
    local n, why = c:run { timeout_ms = 600 }
    local t1 = etw.now()
    assert.same({ 0, "timeout" }, { n, why })
    -- 600 ms / 50 ms: at most 12 calls (missed periods are not made up for)
    assert.is_true(#calls >= 1 and #calls <= 12, tostring(#calls))
    for i, t in ipairs(calls) do
      assert.is_true(t >= t0 and t <= t1, "call " .. i)
      if i > 1 then assert.is_true(t > calls[i - 1]) end
    end
  end)

  it("raises a timer's error with its traceback, as handlers do", function()
    local s <close> = session()
    local c <close> = consumer(s)
    c:every(0.01, function() error("boom") end)
    local ok, err = pcall(c.run, c, { timeout_ms = 5000 })
    assert.is_false(ok)
    assert.matches("boom", err)
  end)

  it("a timer may stop the run", function()
    local s <close> = session()
    local c <close> = consumer(s)
    local calls = 0
    c:every(0.01, function() calls = calls + 1; if calls == 3 then c:stop() end end)
    local n, why = c:run { timeout_ms = 10000 }
    assert.same({ 0, "stopped", 3 }, { n, why, calls })
  end)

  it("checks its arguments", function()
    local s <close> = session()
    local c <close> = consumer(s)
    for _, bad in ipairs { 0, 0.0001, -1, 0 / 0, math.huge, 2e9 } do
      assert.has_error(function() c:every(bad, print) end,
        "bad argument #1 to 'every' (seconds must be a number from 0.001 to 1e9)")
    end
    assert.has_error(function() c:every(1) end)
    c:close()
    assert.has_error(function() c:every(1, print) end, "attempt to use a closed etw.Consumer")
  end)
end)
