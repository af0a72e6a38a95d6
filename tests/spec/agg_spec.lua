-- etwlua.agg: every kind's values, key order, tuples, histogram buckets
-- and the exact printed tables; misuse raises naming the rule.
local agg = require "etwlua.agg"

local sink = require("testutil").sink

local function printed(a, opts)
  local out = sink()
  a:print(out, opts)
  return out.text()
end

describe("etwlua.agg scalar kinds", function()
  it("count, sum, min, max, avg keep one value per key", function()
    local c, s, mn, mx, av = agg.count(), agg.sum(), agg.min(), agg.max(), agg.avg()
    for _, v in ipairs { 5, -3, 10, 4 } do
      for _, a in ipairs { s, mn, mx, av } do a:add("k", v) end
      c:add("k")
    end
    c:add("other")
    assert.are.equal(4, c:get("k"))
    assert.are.equal(1, c:get("other"))
    assert.are.equal(16, s:get("k"))
    assert.are.equal(-3, mn:get("k"))
    assert.are.equal(10, mx:get("k"))
    assert.are.equal(4.0, av:get("k"))
    assert.is_nil(c:get("never"))
    assert.are.equal(2, c:size())
  end)

  it("sums of integers stay exact integers", function()
    local s = agg.sum()
    s:add("big", math.maxinteger - 1)
    s:add("big", 1)
    assert.are.equal(math.maxinteger, s:get("big"))
    assert.are.equal("integer", math.type(s:get("big")))
  end)

  it("entries: largest value first, equal values by key (numbers, strings, booleans, tuples)", function()
    local c = agg.count()
    for _, k in ipairs { "b", "a", 2, 1, true, false } do c:add(k) end
    c:add(agg.tuple("x", 2))
    c:add(agg.tuple("x", 1))
    c:add("z")
    c:add("z")
    local keys = {}
    for i, e in ipairs(c:entries()) do keys[i] = tostring(e.key) end
    assert.are.same({ "z", "1", "2", "a", "b", "false", "true", "x, 1", "x, 2" }, keys)
    assert.are.equal(2, #c:entries(2))
  end)

  it("tuples: the same parts give the same key; nil parts allowed", function()
    assert.are.equal(agg.tuple("a", 1), agg.tuple("a", 1))
    assert.are_not.equal(agg.tuple("a", 1), agg.tuple("a", 1, nil))
    assert.are_not.equal(agg.tuple("a"), agg.tuple("a", 1))
    assert.are.equal(agg.tuple(nil, 2), agg.tuple(nil, 2))
    assert.are.equal("a, 1", tostring(agg.tuple("a", 1)))
    assert.are.equal("nil, 2", tostring(agg.tuple(nil, 2)))
    local c = agg.count()
    c:add(agg.tuple("p", "e"))
    c:add(agg.tuple("p", "e"))
    assert.are.equal(2, c:get(agg.tuple("p", "e")))
  end)

  it("prints an aligned table with bars, largest first", function()
    local c = agg.count()
    for _ = 1, 8 do c:add("Read") end
    for _ = 1, 2 do c:add("Write") end
    c:add("Open")
    assert.are.equal(
      "Read   8 |@@@@@@@@@@|\n" ..
      "Write  2 |@@@       |\n" ..
      "Open   1 |@         |\n", printed(c, { width = 10 }))
  end)

  it("prints a title, cuts to top N and says how many more", function()
    local s = agg.sum()
    s:add("a", 1000)
    s:add("b", 10)
    s:add("c", 5)
    assert.are.equal(
      "bytes:\n" ..
      "a  1000 |@@@@|\n" ..
      "b    10 |    |\n" ..
      "... (1 more)\n", printed(s, { title = "bytes:", top = 2, width = 4 }))
  end)

  it("prints no bars with width 0 or negative values; averages as numbers", function()
    local m = agg.min()
    m:add("x", -5)
    m:add("y", 3)
    assert.are.equal("y   3\nx  -5\n", printed(m))
    local a = agg.avg()
    a:add("k", 1)
    a:add("k", 2)
    a:add("j", 4)
    assert.are.equal("j    4\nk  1.5\n", printed(a, { width = 0 }))
  end)

  it("prints nothing but the title when empty", function()
    assert.are.equal("t\n", printed(agg.count(), { title = "t" }))
  end)
end)

describe("etwlua.agg histograms", function()
  it("hist: power-of-two buckets from the lowest to the highest, empty ones between", function()
    local h = agg.hist()
    for _, v in ipairs { 0, 1, 1, 5, 6, 7, 1500, -4 } do h:add("lat", v) end
    assert.are.equal(8, h:get("lat"))
    assert.are.same({
      { label = "(..., 0)", count = 1 }, { label = "[0]", count = 1 }, { label = "[1]", count = 2 },
      { label = "[2, 4)", count = 0 }, { label = "[4, 8)", count = 3 },
      { label = "[8, 16)", count = 0 }, { label = "[16, 32)", count = 0 },
      { label = "[32, 64)", count = 0 }, { label = "[64, 128)", count = 0 },
      { label = "[128, 256)", count = 0 }, { label = "[256, 512)", count = 0 },
      { label = "[512, 1K)", count = 0 }, { label = "[1K, 2K)", count = 1 },
    }, h:buckets("lat"))
  end)

  it("hist: labels use K, M, G ... for powers of 1024", function()
    local h = agg.hist()
    h:add("k", 3 << 20)
    h:add("k", 1 << 40)
    local rows = h:buckets("k")
    assert.are.equal("[2M, 4M)", rows[1].label)
    assert.are.equal("[1T, 2T)", rows[#rows].label)
    h:add("huge", 2.0 ^ 70)
    assert.are.equal("[8E, ...)", h:buckets("huge")[1].label)
  end)

  it("hist prints per key, keys by count", function()
    local h = agg.hist()
    h:add("small", 1)
    for _, v in ipairs { 2, 3, 9 } do h:add("big", v) end
    assert.are.equal(
      "sizes\n" ..
      "big:\n" ..
      "  [2, 4)   2 |@@@@@@|\n" ..
      "  [4, 8)   0 |      |\n" ..
      "  [8, 16)  1 |@@@   |\n" ..
      "\n" ..
      "small:\n" ..
      "  [1]  1 |@@@@@@|\n", printed(h, { title = "sizes", width = 6 }))
  end)

  it("lhist: linear buckets with an underflow and an overflow bucket", function()
    local l = agg.lhist(0, 100, 25)
    for _, v in ipairs { -1, 0, 24, 25, 99, 100, 1000 } do l:add("ms", v) end
    assert.are.equal(
      "ms:\n" ..
      "  (..., 0)    1 |@@@@    |\n" ..
      "  [0, 25)     2 |@@@@@@@@|\n" ..
      "  [25, 50)    1 |@@@@    |\n" ..
      "  [50, 75)    0 |        |\n" ..
      "  [75, 100)   1 |@@@@    |\n" ..
      "  [100, ...)  2 |@@@@@@@@|\n", printed(l, { width = 8 }))
  end)

  it("lhist: a last bucket shorter than step ends at max", function()
    local l = agg.lhist(0, 10, 4)
    l:add("x", 9)
    assert.are.same({ { label = "[8, 10)", count = 1 } }, l:buckets("x"))
  end)
end)

describe("etwlua.agg misuse", function()
  local function err_of(f, ...)
    local ok, e = pcall(f, ...)
    assert.is_false(ok)
    return tostring(e)
  end

  it("raises on nil or NaN keys and on non-number values", function()
    local s = agg.sum()
    assert.matches("key must not be nil", err_of(s.add, s, nil, 1))
    assert.matches("key must not be NaN", err_of(s.add, s, 0 / 0, 1))
    assert.matches("value must be a number, got string", err_of(s.add, s, "k", "1"))
    assert.matches("value must not be NaN", err_of(s.add, s, "k", 0 / 0))
    local h = agg.hist()
    assert.matches("value must be a number, got nil", err_of(h.add, h, "k"))
  end)

  it("lhist checks its bounds", function()
    assert.matches("integer expected", err_of(agg.lhist, 0, 10))
    assert.matches("step must be >= 1", err_of(agg.lhist, 0, 10, 0))
    assert.matches("max must be greater than min", err_of(agg.lhist, 10, 10, 1))
    assert.matches("at most 1000 buckets", err_of(agg.lhist, 0, 100000, 1))
  end)

  it("print checks its options; buckets() only for histograms", function()
    local c = agg.count()
    assert.matches("'top' must be a positive integer", err_of(c.print, c, sink(), { top = 0 }))
    assert.matches("'width' must be an integer", err_of(c.print, c, sink(), { width = 1.5 }))
    assert.matches("buckets%(%) is for hist and lhist, not count", err_of(c.buckets, c, "k"))
  end)
end)
