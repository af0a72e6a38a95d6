-- etw.json_encode: plain Lua values through the one C JSON writer, with the
-- README's rules; exact expected strings for the edge cases.
local etw = require "etw"
local J = etw.json_encode

describe("etw.json_encode", function()
  it("keeps 64-bit integers exact: numbers up to 2^53, strings beyond", function()
    assert.equal("9007199254740992", J(1 << 53))
    assert.equal('"9007199254740993"', J((1 << 53) + 1))
    assert.equal("-9007199254740992", J(-(1 << 53)))
    assert.equal('"-9007199254740993"', J(-(1 << 53) - 1))
    assert.equal('"-9223372036854775808"', J(math.mininteger))
    assert.equal('"9223372036854775807"', J(math.maxinteger))
  end)

  it("writes NaN and infinities as strings, floats as shortest round-trip text", function()
    assert.equal('"nan"', J(0 / 0))
    assert.equal('"inf"', J(math.huge))
    assert.equal('"-inf"', J(-math.huge))
    assert.equal("0.1", J(0.1))
    assert.equal("2", J(2.0))
    assert.equal("0.3333333333333333", J(1 / 3))
    assert.equal("1e+300", J(1e300))
  end)

  it("escapes strings and makes them valid UTF-8 (bad bytes become U+FFFD)", function()
    assert.equal('"a\\"b\\\\c\\n\\t\\u0001\\u0000"', J('a"b\\c\n\t\1\0'))
    assert.equal('"\u{e9}\u{20ac}"', J("\u{e9}\u{20ac}"))
    assert.equal('"x\u{FFFD}y\u{FFFD}\u{FFFD}\u{FFFD}"', J("x\xffy\xed\xa0\x80"))
  end)

  it("writes tables as arrays or objects with sorted keys", function()
    assert.equal('[1,"a",true]', J { 1, "a", true })
    assert.equal("{}", J {})
    assert.equal("[]", J(setmetatable({}, etw.json_array_mt)))
    assert.equal('{"1":"x","b":[],"c":{"d":1.5}}',
                 J { ["1"] = "x", b = setmetatable({}, etw.json_array_mt),
                     c = { d = 1.5 }, a = nil })
    assert.equal('{"10":1,"9":2,"x\u{FFFD}":3}', J { [10] = 1, [9] = 2, ["x\xff"] = 3 })
    assert.equal("null", J(nil))
    assert.equal("false", J(false))
  end)

  it("stops at the first hole of an array, as ipairs does", function()
    assert.equal("[1,2]", J { 1, 2, nil, 4 })
  end)

  it("raises on values JSON cannot hold, naming the rule", function()
    assert.has_error(function() J { f = print } end,
      "etw.json_encode: cannot encode a function value (only nil, booleans, numbers, strings and tables)")
    assert.has_error(function() J { [true] = 1 } end,
      "etw.json_encode: a table key must be a string or a number (got boolean)")
    local t = {}
    t.self = t
    assert.has_error(function() J(t) end,
      "etw.json_encode: tables nested deeper than 200 levels (a cycle?)")
    assert.has_error(function() J() end)
  end)

  it("handles output far larger than its buffer", function()
    local big = {}
    for i = 1, 5000 do big[i] = ("v%d"):format(i) end
    local s = J(big)
    assert.equal(5000, select(2, s:gsub('"v%d+"', "")))
    assert.equal('["v1","v2",', s:sub(1, 11))
    assert.equal('"v5000"]', s:sub(-8))
  end)
end)
