-- fields_where_spec.lua: where= and fields= of c:on, and the --filter fast
-- path, on a file of many TraceLogging field types written through a file
-- session (POSIX engine): the C tests select exactly what the same tests in
-- Lua select; dump prints the same both ways. (fields_fast_spec.lua: the
-- parts that need no session.)
local etw = require "etw"
local cjson = require "cjson"
local util = require "testutil"
local filter = require "etwlua.filter"
local F = require "fieldsutil"

local S = util.shared_dir()
local same, first_of_names, check_lazy = F.same, F.first_of_names, F.check_lazy
local both_ways, select_both = F.both_ways, F.select_both

local windows = package.config:sub(1, 1) == "\\"
local describe_posix = windows and pending or describe
local GUID, make_file, describe_where = F.GUID, F.make_file, F.describe_where

teardown(util.tmp_cleanup)

describe_posix("c:on{where = ...} (tested in C) and the same test in Lua", function()
  local path
  setup(function() path = make_file() end)

  local conds = {
    { Status = 500 }, { Status = { ">=", 500 } }, { Status = { "<", -1 } }, { Status = { 500, 404 } },
    { Status = { "~=", 500 } }, { Status = { "~=", { 500, 404 } } }, { Status = { ">", 499.5 } },
    { Status = { "<=", 500.0 } }, { Status = { "<", 1e300 } }, { Status = { ">", -math.huge } },
    { Status = { { ">=", 400 }, { "<", 500 } } }, { Status = "500" }, { Status = { "=", { "500", 200 } } },
    { Big = { "<", 0 } }, { Big = { ">", 2.0 ^ 62 } }, { Big = math.mininteger },
    { Big = { ">=", math.maxinteger + 0.0 } }, { Big = { "<", -2.0 ^ 63 } },
    { Ratio = { ">", 0.25 } }, { Ratio = { "=", 0 / 0 } }, { Ratio = { "~=", 0 / 0 } },
    { Ratio = { ">=", math.huge } }, { Ratio = 0 }, { F = { "<", 0.2 } }, { F = { "=", 0.5 } },
    { Small = { ">", 250 } }, { Small = { "<=", 10 } },
    { Path = "/x" }, { Path = { "<", "/m" } }, { Path = { ">=", "" } }, { Path = { ">", "/x" } },
    { Path = { "<", "\0/y" } }, { Path = { ">", "/u" } }, { Path = 4 },
    { W = "héllo" }, { W = { ">", "h" } }, { W = { "<", "hé" } },
    { Flag = 1 }, { B = 1 }, { B = { "~=", 1 } }, { G = GUID }, { G = { ">", "0" } }, { Bin = "\1\2" },
    { arr = 1 }, { st = 1 }, { Nope = 1 }, { Nope = { "~=", 1 } },
    { Status = { ">=", 500 }, Path = "/x" }, { i = { { ">", 10 }, { "<=", 20 } } },
  }
  for n, w in ipairs(conds) do
    it("condition " .. n .. ": " .. describe_where(w), function()
      local by_c, by_lua = both_ways(path, nil, nil, w)
      assert.are.same(by_lua, by_c)
    end)
  end

  it("selects something for most conditions (the tests are not vacuous)", function()
    local nonempty = 0
    for _, w in ipairs(conds) do
      local by_c = both_ways(path, nil, nil, w)
      if #by_c > 0 then nonempty = nonempty + 1 end
    end
    assert.truthy(nonempty >= 30)
  end)

  it("with name and provider filters", function()
    local by_c, by_lua = both_ways(path, nil, { name = "Other" }, { Status = "500" })
    assert.are.same(by_lua, by_c)
    assert.truthy(#by_c > 0)
    by_c = both_ways(path, nil, { provider = "Fast.Fields", name = "Req" }, { Status = { ">=", 500 } })
    assert.truthy(#by_c > 0)
    by_c = both_ways(path, nil, { provider = "Not.This" }, { Status = { ">=", 500 } })
    assert.are.same({}, by_c)
  end)

  it("fields= passes the values as arguments, nil when missing", function()
    local c <close> = assert(etw.Consumer { files = path })
    local names = { "Status", "Path", "st", "arr", "Nope", "W", "G", "Ratio", "B" }
    local n = 0
    c:on({ name = "Req", fields = names }, function(ev, ...)
      local args = table.pack(...)
      assert.are.equal(#names, args.n)
      local _, full = first_of_names(ev.fields)
      for i, name in ipairs(names) do assert(same(args[i], full[name]), name) end
      assert.is_nil(args[5])
      n = n + 1
    end)
    c:run()
    assert.are.equal(120, n)
  end)

  it("raises on misuse, naming the option and the rule", function()
    local c <close> = assert(etw.Consumer { files = path })
    local cases = {
      { { where = 5 }, "on: filter field 'where' must be a table of field name = condition" },
      { { where = { [1] = 5 } }, "on: filter field 'where': keys must be field names (strings)" },
      { { where = { S = true } }, "on: filter field 'where': S: a value must be a number or a string" },
      { { where = { S = { ">>", 1 } } }, "on: filter field 'where': S: unknown operator (one of = ~= < <= > >=)" },
      { { where = { S = { "<", { 1, 2 } } } }, "on: filter field 'where': S: a list of values goes with '=' or '~=' only" },
      { { where = { S = {} } }, "on: filter field 'where': S: a list of values must be a non-empty sequence" },
      { { where = { S = { "=", 1, 2 } } }, "on: filter field 'where': S: an operator form is {op, value} (op one of = ~= < <= > >=)" },
      { { where = { S = { { ">", 1 }, 2 } } }, "on: filter field 'where': S: a list of conditions holds {op, value} tables only" },
      { { fields = "Status" }, "on: filter field 'fields' must be a list of field names (strings)" },
      { { fields = { 1 } }, "on: filter field 'fields' must be a list of field names (strings)" },
      { { fields = { a = "b" } }, "on: filter field 'fields' must be a list of field names (strings)" },
      { { wher = {} }, "on: unknown filter field 'wher' (provider, name, id, level, opcode, task, keyword, where, fields)" },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(c.on, c, case[1], function() end)
      assert.is_false(ok)
      assert.are.equal(case[2], err)
    end
  end)
end)


describe_posix("etwlua.filter: the fast path and the whole expression in Lua, on a made file", function()
  local exprs = {
    "fields.Status >= 500", "fields.Status == 500", "-7 >= fields.Status", "fields.Path == '/x'",
    "fields.Status >= 500 and fields.Path < '/n'", "name == 'Other' and fields.Status == '500'",
    "fields.Ratio > 0.25 and level <= 5", "provider == 'Fast.Fields' and fields.Big < 0",
    "fields.W == 'héllo' and fields.Flag", "fields.Nope > 1", "fields.st > 1",
    "fields.i > 10 and fields.i <= 20 and name ~= 'Bare'",
  }
  describe("on a file of TraceLogging events", function()
    local path
    setup(function() path = make_file() end)
    for _, e in ipairs(exprs) do
      it(e, function()
        local lua_sel, c_sel = select_both(path, nil, e)
        assert.are.same(lua_sel, c_sel)
      end)
    end
  end)

end)

-- Integers at fixed offsets are compared straight from the data (flt_shape.c
-- flt_tlg_int); two shapes with the same names at other places and of other
-- types alternate, so the remembered position of a name changes per event.
describe_posix("c:on{where = ...} on integers of every width at fixed offsets", function()
  local path
  setup(function()
    path = util.tmp(util.unique("where_ints") .. ".etl")
    local s = etw.Session(util.unique("where_ints"), { mode = "file", file = path })
    assert(s:start())
    assert(s:enable("Fast.Ints"))
    local p <close> = etw.Provider("Fast.Ints")
    local eb = etw.EventBuilder()
    local i8 = { -128, -1, 0, 1, 127 }
    local u32 = { 0, 1, 2147483648, 4294967295 }
    local h64 = { 0, -1, math.mininteger, 7 }
    for i = 1, 60 do
      eb:reset("Ints")
      eb:add_int32("i", i)
      eb:add_int8("I8", i8[i % #i8 + 1])
      eb:add_int16("I16", (i % 2 == 0) and -i * 100 or i * 100)
      eb:add_uint16("U16", (i * 1111) % 65536)
      eb:add_uint32("U32", u32[i % #u32 + 1])
      eb:add_hexint32("H32", u32[(i + 1) % #u32 + 1])
      eb:add_hexint64("H64", h64[i % #h64 + 1])
      eb:add_uintptr("Ptr", i * 4096)
      eb:add_intptr("IPtr", -i)
      eb:add_filetime_int64("FT", i * 1000)
      eb:add_uint8("Bo", i % 2, etw.OutType.BOOLEAN)
      eb:add_uint8("U8", i % 7)
      eb:add_bool32("Flag", i % 3 == 0)
      assert(p:write(eb) == 0)
      eb:reset("Swapped")                             -- the names elsewhere, other types
      eb:add_str8("U32", tostring(i))
      eb:add_int32("i", i)
      eb:add_uint64("I8", i)
      eb:add_int8("U8", -(i % 5))
      eb:add_float64("I16", i / 4)
      assert(p:write(eb) == 0)
    end
    s:stop()
  end)

  local conds = {
    { I8 = { "<", 0 } }, { I8 = -128 }, { I8 = { ">", -0.5 } }, { I8 = { ">=", 127 } },
    { I16 = { ">=", -500 } }, { I16 = { "<", 0 } }, { I16 = { "~=", { 100, 300 } } },
    { U16 = { ">", 40000 } }, { U32 = { ">", 2 ^ 31 } }, { U32 = 4294967295 }, { U32 = "1" },
    { H32 = { "=", 0xFFFFFFFF } }, { H64 = { "<", 0 } }, { H64 = math.mininteger },
    { Ptr = { ">", 100000 } }, { IPtr = { "<", -30 } }, { FT = { ">", 30000 } },
    { Bo = 1 }, { Bo = { "~=", 1 } }, { U8 = { "<=", 3 } }, { U8 = { "<", 0 } }, { Flag = 1 },
    { I8 = { ">", 10 }, U8 = { "<", 4 } },
  }
  for n, w in ipairs(conds) do
    it("condition " .. n .. ": " .. describe_where(w), function()
      local by_c, by_lua = both_ways(path, nil, nil, w)
      assert.are.same(by_lua, by_c)
    end)
  end

  it("selects something for most conditions (the tests are not vacuous)", function()
    local nonempty = 0
    for _, w in ipairs(conds) do
      if #both_ways(path, nil, nil, w) > 0 then nonempty = nonempty + 1 end
    end
    assert.truthy(nonempty >= #conds - 3)
  end)

  -- ev.fields.X and fields= read these integers without an item
  -- (flt_tlg_int); the whole table comes from the decoder
  it("ev.fields.X and fields= give the whole table's values", function()
    local names = { "i", "I8", "I16", "U16", "U32", "H32", "H64", "Ptr", "IPtr", "FT", "Bo", "U8", "Flag" }
    local c <close> = assert(etw.Consumer { files = path })
    local seen, bad = 0, {}
    c:on({ fields = names }, function(ev, ...)
      local got = table.pack(...)
      local _, full = F.first_of_names(ev.fields)
      for k, n in ipairs(names) do
        if not same(got[k], full[n]) then bad[#bad + 1] = ev.name .. "." .. n .. " (fields=)" end
      end
    end)
    c:on(function(ev)
      local msg = check_lazy(ev, names)
      if msg then bad[#bad + 1] = ev.name .. ": " .. msg end
      if ev.name == "Ints" then
        seen = seen + 1
        local i = ev.fields.i
        assert.are.equal(({ -128, -1, 0, 1, 127 })[i % 5 + 1], ev.fields.I8)
        assert.are.equal((i % 2 == 0) and -i * 100 or i * 100, ev.fields.I16)
        assert.are.equal(-i, ev.fields.IPtr)
        assert.are.equal(i % 2 == 1, ev.fields.Bo)
      end
    end)
    c:run()
    assert.are.same({}, bad)
    assert.are.equal(60, seen)
  end)
end)

describe("etwlua dump --filter: fast path and Lua path print the same", function()
  local exe = os.getenv("ETWLUA_EXE")
  if not S or not exe or windows then
    it("needs ../shared and ETWLUA_EXE (POSIX shell)", function() pending("skipped: no samples or no ETWLUA_EXE") end)
    return
  end
  local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
  local function dump(args)
    local out = util.tmp(util.unique("dump"))
    local ok = os.execute(q(exe) .. " dump " .. args .. " >" .. out .. " 2>/dev/null")
    assert(ok, "dump failed: " .. args)
    return util.read_file(out)
  end
  local tx = S .. "/etl-samples/tx/"
  local pt = S .. "/etl-samples/perfview/primitive-types.etl"
  local cases = {
    { q(pt), "fields.int32_type < -100" },
    { q(pt), "fields.string_type >= 'M' and fields.uint16_type <= 65" },
    { q(tx .. "HTTP_Server.etl") .. " --manifest " .. q(tx .. "HTTP_Server.man") .. " --format json",
      "fields.StatusCode >= 300 and name == 'HTTP Request Trace Task'" },
  }
  for _, c in ipairs(cases) do
    it(c[2], function()
      assert(filter.fast(c[2]))
      local fast = dump(c[1] .. " --filter " .. q(c[2]))
      local slow = dump(c[1] .. " --filter " .. q("not not (" .. c[2] .. ")"))
      assert.truthy(#fast > 0)
      assert.are.equal(slow, fast)
    end)
  end
end)
