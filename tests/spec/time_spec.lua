-- Time in scripts: etw.now() and etw.sleep(seconds), on every platform.
-- With live sessions (POSIX): every_spec.lua; c:every on files (event time)
-- with exact expectations: tests/unit/test_consumer_every.c; etw.sleep and
-- signals: signal_spec.lua. Bounds on durations are generous (the machine
-- is loaded): they check "ends at all / not far too early".
local etw = require "etw"

describe("etw.now", function()
  it("is a FILETIME of the wall clock, as ev.timestamp is", function()
    local t = etw.now()
    assert.equal("integer", math.type(t))
    -- the same second as os.time() (FILETIME: 100 ns since 1601-01-01)
    local unix = (t - 116444736000000000) // 10000000
    assert.is_true(math.abs(unix - os.time()) <= 2, tostring(unix))
    assert.is_true(etw.now() >= t)
  end)
end)

describe("etw.sleep", function()
  it("waits at least the time asked and returns 'timeout'", function()
    local t = etw.now()
    assert.equal("timeout", etw.sleep(0.2))
    assert.is_true(etw.now() - t >= 1900000)   -- 0.19 s, any clock rounding
    assert.equal("timeout", etw.sleep(0))
  end)

  it("rejects what is not a number of seconds from 0 to 1e9", function()
    for _, bad in ipairs { -1, 0 / 0, math.huge, 2e9 } do
      assert.has_error(function() etw.sleep(bad) end,
        "bad argument #1 to 'sleep' (seconds must be a number from 0 to 1e9)")
    end
    assert.has_error(function() etw.sleep("x") end)
  end)
end)
