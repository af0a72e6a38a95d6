-- etw.EventBuilder and etw.Provider: API behaviour beyond the vectors (chaining,
-- named reset, error messages, "a call that raises changes nothing", 64-bit
-- integers, provider lifetime).
local etw = require "etw"
local util = require "testutil"

local tohex = util.tohex

-- The builder's three blobs as one comparable string.
local function snapshot(eb)
  local d, m, x = eb:bytes()
  return tohex(d) .. "|" .. tohex(m) .. "|" .. tohex(x)
end

local function data_hex(eb) return tohex((select(3, eb:bytes()))) end
local function meta_hex(eb) return tohex((select(2, eb:bytes()))) end

local function err_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error")
  return (tostring(err):gsub("^[^:]*:%d+: ", ""))
end

local ADD_METHODS = {
  "add_zstr16", "add_zstr16_bytes_utf16le", "add_zstr8", "add_zstr8_bytes", "add_int8",
  "add_uint8", "add_int16", "add_uint16", "add_int32", "add_uint32", "add_int64", "add_uint64",
  "add_intptr", "add_uintptr", "add_float32", "add_float64", "add_bool32", "add_guid",
  "add_guid_bytes_le", "add_filetime_int64", "add_systemtime_bytes", "add_sid_bytes",
  "add_hexint32", "add_hexint64", "add_hexintptr", "add_str16", "add_str16_bytes_utf16le",
  "add_str8", "add_str8_bytes", "add_cbinary_bytes",
}

describe("etw.EventBuilder", function()
  describe("methods", function()
    it("has all 62 add methods with the Python names", function()
      local eb = etw.EventBuilder()
      local n = 0
      for _, name in ipairs(ADD_METHODS) do
        assert.is_function(eb[name], name)
        assert.is_function(eb[name .. "_seq"], name .. "_seq")
        n = n + 2
      end
      assert.is_function(eb.add_binary_bytes)
      assert.is_function(eb.add_struct)
      assert.is_nil(eb.add_binary_bytes_seq)
      assert.is_nil(eb.add_struct_seq)
      assert.are.equal(62, n + 2)
    end)

    it("returns the builder from reset and every add (chaining)", function()
      local eb = etw.EventBuilder()
      local r = eb:reset("chain"):add_int32("a", 1):add_uint8_seq("b", {1, 2})
                  :add_struct("s", 1):add_str8("c", "x")
      assert.are.equal(eb, r)
      assert.are.equal("01000000" .. "02000102" .. "010078", data_hex(eb))
    end)

    it("exposes the last reset name as eb:name() and in tostring", function()
      local eb = etw.EventBuilder()
      assert.is_nil(eb:name())
      assert.are.equal("etw.EventBuilder (not reset)", tostring(eb))
      eb:reset("First")
      eb:reset("Second")
      assert.are.equal("Second", eb:name())
      assert.are.equal('etw.EventBuilder "Second"', tostring(eb))
      assert.has_error(function() eb:reset("a\0b") end)
      assert.are.equal("Second", eb:name())
    end)

    it("accepts capacity hints and grows from them without corrupting data", function()
      local small, big = etw.EventBuilder(1, 1), etw.EventBuilder(32768, 65536)
      for _, eb in ipairs {small, big} do
        eb:reset("grow"):add_uint32("first", 0x11223344)
        eb:add_cbinary_bytes("blob", string.rep("\xab", 600))
        for i = 1, 40 do eb:add_zstr8("f" .. i, ("v"):rep(i)) end
      end
      assert.are.equal(snapshot(big), snapshot(small))
      assert.are.equal("44332211", data_hex(small):sub(1, 8))
      assert.has_no.errors(function() etw.EventBuilder(-5, 1e6 // 1) end)
      assert.has_error(function() etw.EventBuilder("x") end)
    end)
  end)

  describe(":reset()", function()
    it("takes Python's positional order: level, keyword, opcode, id, version, tag, task, channel", function()
      local eb = etw.EventBuilder():reset("4v2o1t123c0l3k11", 3, 0x11, 1, 4, 2, 0, 123, 0)
      assert.are.equal("0400020003017b001100000000000000", tohex((eb:bytes())))
    end)

    it("takes the same values as a table", function()
      local a = etw.EventBuilder():reset("e", 3, 0x11, 1, 4, 2, 0xFE00000, 123, 0)
      local b = etw.EventBuilder():reset("e", {level = 3, keyword = 0x11, opcode = 1, id = 4,
                                              version = 2, tag = 0xFE00000, task = 123, channel = 0})
      assert.are.equal(snapshot(a), snapshot(b))
      local d = etw.EventBuilder():reset("e", {})
      assert.are.equal("0000000b050000000100000000000000", tohex((d:bytes())))
    end)

    it("raises for an unknown option, naming it", function()
      local eb = etw.EventBuilder()
      assert.are.equal("bad argument #2 to 'reset' (unknown option 'levle')",
                       err_of(eb.reset, eb, "e", {levle = 1}))
      assert.are.equal("bad argument #2 to 'reset' (unknown option '1')",
                       err_of(eb.reset, eb, "e", {5}))
    end)

    it("checks every descriptor range, positional or named", function()
      local eb = etw.EventBuilder()
      local cases = {
        {{"e", 256}, "bad argument #2 to 'reset' (level must be 0..255)"},
        {{"e", 5, 1, -1}, "bad argument #4 to 'reset' (opcode must be 0..255)"},
        {{"e", 5, 1, 0, 65536}, "bad argument #5 to 'reset' (id must be 0..65535)"},
        {{"e", 5, 1, 0, 0, 256}, "bad argument #6 to 'reset' (version must be 0..255)"},
        {{"e", 5, 1, 0, 0, 0, 0x10000000},
         "bad argument #7 to 'reset' (tag must fit in 28 bits (0..0x0FFFFFFF))"},
        {{"e", 5, 1, 0, 0, 0, -1}, "bad argument #7 to 'reset' (tag must fit in 28 bits (0..0x0FFFFFFF))"},
        {{"e", 5, 1, 0, 0, 0, 0, 65536}, "bad argument #8 to 'reset' (task must be 0..65535)"},
        {{"e", 5, 1, 0, 0, 0, 0, 0, 256}, "bad argument #9 to 'reset' (channel must be 0..255)"},
        {{"e", "x"}, "bad argument #2 to 'reset' (level: integer expected, got string)"},
        {{"e", 1.5}, "bad argument #2 to 'reset' (level: number has no integer representation)"},
        {{"e", 5, 2^64}, "bad argument #3 to 'reset' (keyword: number has no 64-bit integer representation)"},
        {{"e", {channel = 300}}, "bad argument #2 to 'reset' (channel must be 0..255)"},
        {{"e", {task = "x"}}, "bad argument #2 to 'reset' (task: integer expected, got string)"},
        {{1}, "bad argument #1 to 'reset' (string expected, got number)"},
      }
      for _, c in ipairs(cases) do
        assert.are.equal(c[2], err_of(eb.reset, eb, table.unpack(c[1])))
      end
      assert.are.equal("reset: event name must not contain NUL", err_of(eb.reset, eb, "a\0b"))
    end)

    it("keeps keywords as 64-bit integers (negative = same bits, or a whole float >= 2^63)", function()
      local eb = etw.EventBuilder()
      eb:reset("k", 5, -1)
      assert.are.equal("ffffffffffffffff", tohex((eb:bytes())):sub(17))
      eb:reset("k", 5, math.mininteger)
      assert.are.equal("0000000000000080", tohex((eb:bytes())):sub(17))
      eb:reset("k", 5, 2^63)
      assert.are.equal("0000000000000080", tohex((eb:bytes())):sub(17))
    end)

    it("discards the fields of the previous event", function()
      local eb = etw.EventBuilder():reset("a"):add_int32("x", 1)
      eb:reset("b")
      assert.are.equal("", data_hex(eb))
      assert.are.equal("0500006200", meta_hex(eb))
    end)
  end)

  describe("values", function()
    it("accepts uint8 0..255 and -128..-1 (Python's only way to write 0x80..0xFF)", function()
      local eb = etw.EventBuilder():reset("u8")
      eb:add_uint8("a", 255):add_uint8("b", 200):add_uint8("c", -1):add_uint8("d", -128)
      eb:add_uint8_seq("s", {0, 255, -1})
      assert.are.equal("ffc8ff80" .. "030000ffff", data_hex(eb))
    end)

    it("takes 64-bit unsigned values as the same 64 bits", function()
      local eb = etw.EventBuilder():reset("u64")
      eb:add_uint64("a", -1):add_hexint64("b", math.mininteger):add_uint64("c", 2^63)
      eb:add_uintptr("d", -2):add_hexint64_seq("s", {-1, 1})
      assert.are.equal("ffffffffffffffff" .. "0000000000000080" .. "0000000000000080" ..
                       "feffffffffffffff" .. "0200" .. "ffffffffffffffff" .. "0100000000000000",
                       data_hex(eb))
    end)

    it("checks each integer type's range", function()
      local eb = etw.EventBuilder():reset("r")
      local cases = {
        {"add_int8", 128, "value must be -128..127"}, {"add_int8", -129, "value must be -128..127"},
        {"add_uint8", 256, "value must be 0..255"}, {"add_uint8", -129, "value must be 0..255"},
        {"add_int16", 32768, "value must be -32768..32767"},
        {"add_uint16", -1, "value must be 0..65535"}, {"add_uint16", 65536, "value must be 0..65535"},
        {"add_int32", 2^31 // 1, "value must be -2147483648..2147483647"},
        {"add_uint32", -1, "value must be 0..4294967295"},
        {"add_hexint32", 2^32 // 1, "value must be 0..4294967295"},
        {"add_bool32", 2^31 // 1, "value must be a boolean or -2147483648..2147483647"},
        {"add_int64", 2^63, "number has no integer representation"},
        {"add_uint64", 2^64, "number has no 64-bit integer representation"},
        {"add_int32", 1.5, "number has no integer representation"},
        {"add_int32", "1", "integer expected, got string"},
        {"add_float64", "1", "number expected, got string"},
        {"add_float32", 1e39, "value too large for float32"},
        {"add_bool32", "yes", "boolean or integer expected, got string"},
      }
      for _, c in ipairs(cases) do
        assert.are.equal(("bad argument #2 to '%s' (%s)"):format(c[1], c[3]),
                         err_of(eb[c[1]], eb, "f", c[2]))
      end
    end)

    it("writes booleans, floats and GUID text", function()
      local eb = etw.EventBuilder():reset("v")
      eb:add_bool32("t", true):add_bool32("f", false):add_bool32("n", -1)
      eb:add_float32("f32", 3.2):add_float64("f64", 1)
      eb:add_guid("g", "{00112233-4455-6677-8899-AABBCCDDEEFF}")
      assert.are.equal("01000000" .. "00000000" .. "ffffffff" .. "cdcc4c40" .. "000000000000f03f" ..
                       "33221100554477668899aabbccddeeff", data_hex(eb))
    end)

    it("converts str16 text from UTF-8 and rejects invalid UTF-8", function()
      local eb = etw.EventBuilder():reset("s")
      eb:add_str16("a", "h\u{e9}\u{1F600}"):add_zstr16("b", "x\0y")
      assert.are.equal("08006800e9003dd800de" .. "78000000", data_hex(eb))
      assert.are.equal("bad argument #2 to 'add_str16' (text must be valid UTF-8)",
                       err_of(eb.add_str16, eb, "x", "\xff"))
      assert.are.equal("bad argument #2 to 'add_zstr16_seq' (item 2: text must be valid UTF-8)",
                       err_of(eb.add_zstr16_seq, eb, "x", {"ok", "\xed\xa0\x80"}))
    end)

    it("reads sequences raw, without metamethods", function()
      local eb = etw.EventBuilder():reset("raw")
      local proxy = setmetatable({}, {__index = function() error("not called") end,
                                      __len = function() error("not called") end})
      eb:add_uint8_seq("q", proxy):add_uint8_seq("r", setmetatable({7}, {__index = {8, 9}}))
      assert.are.equal("0000" .. "010007", data_hex(eb))
    end)

    it("writes str8 bytes as given (Lua strings are bytes)", function()
      local eb = etw.EventBuilder():reset("s")
      eb:add_str8("a", "\xff\0"):add_zstr8("b", "caf\xe9\0tail")
      assert.are.equal("0200ff00" .. "636166e900", data_hex(eb))
      -- str input: OutType UTF8 (35) by default, as in Python; _bytes: none
      assert.are.equal("0d00007300" .. "61009723" .. "62008223", meta_hex(eb))
    end)

    it("masks out_type and field tags like the module", function()
      local eb = etw.EventBuilder():reset("m")
      eb:add_uint8("a", 1, 128):add_uint8("b", 1, 0, 0x10000000):add_uint8("c", 1, nil, -1)
      assert.are.equal("1900006d00" .. "61008400" .. "6200848080808000" .. "630084" .. "80ffffff7f",
                       meta_hex(eb))
    end)
  end)

  describe("errors", function()
    it("name the method, the argument and the rule", function()
      local eb = etw.EventBuilder()
      assert.are.equal("add_uint8: EventBuilder is in an error state: call reset() first",
                       err_of(eb.add_uint8, eb, "x", 1))
      assert.are.equal("bytes: EventBuilder is in an error state: call reset() first",
                       err_of(eb.bytes, eb))
      eb:reset("e")
      local cases = {
        {"add_int32", {"a\0b", 1}, "add_int32: field name must not contain NUL"},
        {"add_int32", {1, 1}, "bad argument #1 to 'add_int32' (string expected, got number)"},
        {"add_int32", {"x", 1, "hex"}, "bad argument #3 to 'add_int32' (integer expected, got string)"},
        {"add_int32", {"x", 1, 0, 0.5}, "bad argument #4 to 'add_int32' (number has no integer representation)"},
        {"add_int32_seq", {"x", 1}, "bad argument #2 to 'add_int32_seq' (table expected, got number)"},
        {"add_int32_seq", {"x", {1, 2, nil, 4}}, "bad argument #2 to 'add_int32_seq' (item 3: integer expected, got nil)"},
        {"add_int32_seq", {"x", {1, "2"}}, "bad argument #2 to 'add_int32_seq' (item 2: integer expected, got string)"},
        {"add_guid_bytes_le", {"g", "short"}, "bad argument #2 to 'add_guid_bytes_le' (GUID bytes must be 16 bytes)"},
        {"add_guid", {"g", "nope"}, "bad argument #2 to 'add_guid' (GUID must look like xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"},
        {"add_systemtime_bytes", {"t", ""}, "bad argument #2 to 'add_systemtime_bytes' (SYSTEMTIME bytes must be 16 bytes)"},
        {"add_sid_bytes", {"s", "\1"}, "bad argument #2 to 'add_sid_bytes' (SID bytes must be 8 + 4 * SubAuthorityCount bytes)"},
        {"add_str16_bytes_utf16le", {"s", "abc"}, "bad argument #2 to 'add_str16_bytes_utf16le' (UTF-16LE bytes must have an even length)"},
        {"add_cbinary_bytes", {"b", ("x"):rep(65536)}, "bad argument #2 to 'add_cbinary_bytes' (counted value exceeds 65535 bytes)"},
        {"add_str8_bytes", {"b", ("x"):rep(65535)}, "add_str8_bytes: event exceeds 65536 data bytes"},
        {"add_struct", {"s", 0}, "bad argument #2 to 'add_struct' (field count must be 1..127)"},
        {"add_struct", {"s", 128}, "bad argument #2 to 'add_struct' (field count must be 1..127)"},
        {"add_struct", {"s"}, "bad argument #2 to 'add_struct' (integer expected, got nil)"},
        {"add_zstr8", {"z"}, "bad argument #2 to 'add_zstr8' (string expected, got nil)"},
      }
      for _, c in ipairs(cases) do
        assert.are.equal(c[3], err_of(eb[c[1]], eb, table.unpack(c[2], 1, 4)))
      end
    end)

    it("report the limits: 128 field slots, 32768 metadata bytes", function()
      local eb = etw.EventBuilder():reset("lim")
      for _ = 1, 127 do eb:add_uint8("f", 1) end
      assert.are.equal("add_uint8_seq: too many fields (max 128)", err_of(eb.add_uint8_seq, eb, "s", {}))
      assert.are.equal("add_binary_bytes: too many fields (max 128)", err_of(eb.add_binary_bytes, eb, "b", ""))
      eb:add_uint8("f", 1)
      assert.are.equal("add_uint8: too many fields (max 128)", err_of(eb.add_uint8, eb, "f", 1))
      eb:reset("lim")
      assert.are.equal("add_uint8: event exceeds 32768 metadata bytes",
                       err_of(eb.add_uint8, eb, ("n"):rep(32764), 1))
      assert.has_no.errors(function() eb:add_uint8(("n"):rep(32763 - 4), 1) end)
    end)

    it("leave the builder exactly as it was", function()
      local eb = etw.EventBuilder(64, 64):reset("keep", 4, 0x21)
      eb:add_int32("a", 7, 4, 9):add_str16_seq("s", {"x", "y"}):add_struct("st", 1):add_uint8("m", 1)
      local attempts = {
        function() eb:reset("bad", 256) end,
        function() eb:reset("bad", {nope = 1}) end,
        function() eb:reset("a\0b") end,
        function() eb:reset("bad", 5, 1, 0, 0, 0, -1) end,
        function() eb:add_uint8("x", 256) end,
        function() eb:add_int32("a\0", 1) end,
        function() eb:add_float32("f", 1e300) end,
        function() eb:add_guid_bytes_le("g", "x") end,
        function() eb:add_sid_bytes("s", "") end,
        function() eb:add_struct("s", 0) end,
        function() eb:add_int32_seq("q", {1, 2, 3, "four", 5}) end,
        function() eb:add_str16_seq("q", {"ok", "ok", "\xc0\x80"}) end,
        function() eb:add_sid_bytes_seq("q", {"\1\0\0\0\0\0\0\0", "\1\1"}) end,
        function() eb:add_guid_seq("q", {"00112233-4455-6677-8899-aabbccddeeff", "x"}) end,
        function() eb:add_cbinary_bytes_seq("q", {("x"):rep(40000), ("y"):rep(40000)}) end,
        function() eb:add_zstr8(("n"):rep(40000), "v") end,
        function() eb:add_str8_bytes("big", ("x"):rep(70000)) end,
      }
      local before = snapshot(eb)
      for i, fn in ipairs(attempts) do
        assert.is_false(pcall(fn), "attempt " .. i .. " should raise")
        assert.are.equal(before, snapshot(eb), "attempt " .. i .. " changed the builder")
      end
    end)

    it("have no sticky state: after too many fields the builder still works", function()
      local eb = etw.EventBuilder():reset("full")
      for _ = 1, 128 do eb:add_uint8("f", 1) end
      local before = snapshot(eb)
      assert.has_error(function() eb:add_uint8("g", 1) end)
      assert.has_error(function() eb:add_uint8("g", 1) end)
      assert.are.equal(before, snapshot(eb))
      assert.are.equal(0, etw.Provider("P"):write(eb))
    end)

    it("refuse structs nested deeper than readers decode", function()
      local eb = etw.EventBuilder():reset("deep")
      for _ = 1, 31 do eb:add_struct("s", 1) end
      local before = snapshot(eb)
      assert.are.equal("add_struct: struct 't' would be nested 32 deep; at most 31 "
                       .. "(deeper fields are not decoded)", err_of(eb.add_struct, eb, "t", 1))
      assert.are.equal(before, snapshot(eb))
      eb:add_uint8("leaf", 9)
      assert.are.equal(0, etw.Provider("P"):write(eb))
      local f = eb:decode().fields
      for _ = 1, 31 do f = f.s end
      assert.are.equal(9, f.leaf)
    end)

    it("refuse to write a struct short of its declared fields", function()
      local p = etw.Provider("P")
      local eb = etw.EventBuilder():reset("short"):add_struct("st", 3):add_int32("a", 1)
      assert.are.equal("write: struct 'st' declares 3 fields, has 1", err_of(p.write, p, eb))
      eb:add_struct("inner", 2):add_int32("x", 1)
      assert.are.equal("write: struct 'inner' declares 2 fields, has 1", err_of(p.write, p, eb))
      eb:add_int32("y", 2)
      assert.are.equal("write: struct 'st' declares 3 fields, has 2", err_of(p.write, p, eb))
      eb:add_int32_seq("z", {1, 2})
      assert.are.equal(0, p:write(eb))
      local st = eb:decode().fields.st
      assert.are.same({1, 1, 2, 1, 2}, {st.a, st.inner.x, st.inner.y, st.z[1], st.z[2]})
    end)
  end)
end)

describe("etw.Provider", function()
  it("derives its id from the name and builds the traits blob", function()
    local p = etw.Provider("MyProvider")
    assert.are.equal("MyProvider", p.name)
    assert.are.equal("b3864c38-4273-58c5-545b-8b3608343471", p.id)
    assert.is_nil(p.group_id)
    assert.are.equal("0d004d7950726f766964657200", tohex(p.traits))
    assert.are.equal('Provider "MyProvider" {b3864c38-4273-58c5-545b-8b3608343471}', tostring(p))
  end)

  it("takes id and group_id as options or positionally", function()
    local id, group = "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "12345678-9abc-def0-1234-56789abcdef0"
    local a = etw.Provider("P", {id = id, group_id = group})
    local b = etw.Provider("P", id, group)
    assert.are.equal(id, a.id)
    assert.are.equal(group, a.group_id)
    assert.are.equal(tohex(a.traits), tohex(b.traits))
    assert.are.equal("04005000", tohex(etw.Provider("P", {}).traits))
  end)

  it("raises for bad names and options, naming the rule", function()
    local cases = {
      {{""}, "provider name must not be empty"},
      {{"a\0b"}, "provider name must not contain NUL"},
      {{"\xff"}, "provider name must be valid UTF-8"},
      {{"P", {ID = "x"}}, "unknown option 'ID'"},
      {{"P", {id = "not-a-guid"}}, "etw.Provider: bad option 'id': must be a GUID string"},
      {{"P", "not-a-guid"}, "GUID must look like"},
      {{42}, "string expected, got number"},
    }
    for _, c in ipairs(cases) do
      local msg = err_of(etw.Provider, table.unpack(c[1]))
      assert.is_truthy(msg:find(c[2], 1, true), msg)
    end
    -- with an explicit id the name need not be UTF-8 (only the hash needs it)
    assert.has_no.errors(function() etw.Provider("\xff", {id = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"}) end)
  end)

  it("writes a reset builder and returns status 0 (no listener yet)", function()
    local p = etw.Provider("P")
    local eb = etw.EventBuilder():reset("e")
    assert.are.equal(0, p:write(eb))
    assert.are.equal(0, p:write(eb, "00112233-4455-6677-8899-aabbccddeeff",
                                "73e5f193-d48c-5cd7-6eed-84fbce74000f"))
    assert.has_error(function() p:write(eb, "nope") end)
    assert.has_error(function() p:write({}) end)
    assert.are.equal("write: EventBuilder is in an error state: call reset() first",
                     err_of(p.write, p, etw.EventBuilder()))
  end)

  it("answers is_enabled with false (no backend yet) and checks its arguments", function()
    local p = etw.Provider("P")
    assert.is_false(p:is_enabled())
    assert.is_false(p:is_enabled(5, -1))
    assert.has_error(function() p:is_enabled(256) end)
  end)

  it("closes idempotently; a closed provider refuses to write", function()
    local p = etw.Provider("P")
    assert.is_true(p:is_open())
    p:close()
    p:close()
    assert.is_false(p:is_open())
    assert.is_false(p:is_enabled())
    assert.are.equal('Provider "P" {' .. p.id .. "} (closed)", tostring(p))
    local eb = etw.EventBuilder():reset("e")
    assert.are.equal("attempt to use a closed etw.Provider", err_of(p.write, p, eb))
  end)

  it("keeps its fields read-only and per provider", function()
    local a, b = etw.Provider("A"), etw.Provider("B", {group_id = "12345678-9abc-def0-1234-56789abcdef0"})
    assert.has_error(function() a.name = "x" end)
    assert.has_error(function() a.extra = 1 end)
    assert.are.equal("A", a.name)
    assert.are.equal("B", b.name)
    assert.is_nil(a.group_id)
    assert.are.equal("12345678-9abc-def0-1234-56789abcdef0", b.group_id)
    assert.are.equal(a.is_enabled, a.is_enabled)
    assert.is_function(b.write)
    assert.is_nil(a.nope)
    assert.are.equal("etw.Provider", getmetatable(a).__name)
  end)

  it("takes is_enabled arguments as integers, floats with integer values or nil", function()
    local p = etw.Provider("P")
    assert.is_false(p:is_enabled(5.0, 1.0))
    assert.is_false(p:is_enabled(nil, 0x21))
    assert.is_false(p:is_enabled(255, 2^63))
    assert.has_error(function() p:is_enabled(-1) end)
    assert.has_error(function() p:is_enabled(1.5) end)
    assert.has_error(function() p:is_enabled(5, "x") end)
    p:close()
    assert.is_false(p:is_enabled(5, 1))
  end)

  it("closes at the end of a <close> scope", function()
    local kept
    do
      local p <close> = etw.Provider("Scoped")
      kept = p
      assert.is_true(p:is_open())
    end
    assert.is_false(kept:is_open())
  end)
end)

describe("self checks", function()
  -- methods recognise their object without luaL_checkudata; anything else
  -- must still raise a proper type error, never be read as one
  local others = table.pack(nil, 1, 2.5, "s", {}, print, io.stdout, coroutine.create(print), true)

  it("reject every other value as an etw.EventBuilder", function()
    local eb, p = etw.EventBuilder():reset("e"), etw.Provider("P")
    for i = 1, others.n + 1 do
      local v = others[i]
      if i > others.n then v = p end
      for _, m in ipairs {"reset", "add_int32", "add_str8", "add_int32_seq", "add_struct", "name", "bytes"} do
        assert.is_truthy(err_of(eb[m], v, "x", 1):find("etw.EventBuilder expected", 1, true), m)
      end
      assert.is_truthy(err_of(p.write, p, v):find("etw.EventBuilder expected", 1, true))
    end
  end)

  it("reject every other value as an etw.Provider", function()
    local eb, p = etw.EventBuilder():reset("e"), etw.Provider("P")
    for i = 1, others.n + 1 do
      local v = others[i]
      if i > others.n then v = eb end
      for _, m in ipairs {"is_enabled", "write", "close", "is_open"} do
        assert.is_truthy(err_of(p[m], v, 5, 1):find("etw.Provider expected", 1, true), m)
      end
    end
    assert.is_true(p:is_open())
  end)
end)

describe("etw.decode", function()
  it("decodes what a builder holds, with or without a provider", function()
    local eb = etw.EventBuilder():reset("Decoded", { level = 3, keyword = 0x21 }):add_int32("x", 5)
    local p = etw.Provider("MyProvider")
    -- MyProvider's id: the example of Microsoft's TraceLogging documentation
    local my_id = "b3864c38-4273-58c5-545b-8b3608343471"
    local function same(ev, provider, id)
      local keys = {}
      for k, v in pairs(ev.fields) do keys[#keys + 1] = k .. "=" .. tostring(v) end
      assert.are.same({ provider or "nil", id, "Decoded", 3, 0x21, "x=5" },
                      { ev.provider or "nil", ev.provider_id, ev.name, ev.level, ev.keyword,
                        table.concat(keys, ",") })
      assert.is_nil(ev.decode_error)
    end
    same(etw.decode(p, eb), "MyProvider", my_id)
    same(eb:decode(), nil, "00000000-0000-0000-0000-000000000000")
    same(eb:decode("MyProvider"), "MyProvider", my_id)
    assert.are.equal("MyProvider/Decoded(level=3 keyword=0x21) x=5", tostring(eb:decode(p)))
    assert.has_error(function() eb:decode(42) end)
    assert.has_error(function() etw.EventBuilder():decode() end)
  end)
end)
