-- etw.EventBuilder -> eb:decode() -> etw.Event: random events (fixed seed) of
-- every add_* method, sequences and nested structs come back with the same
-- names, types, tags, header and values.
local etw = require "etw"
local tlgx = require "tlg_expect"

local EVENTS = 600
local rnd = math.random

local function bytes(n, no_nul)
  local t = {}
  for i = 1, n do t[i] = string.char(no_nul and rnd(1, 255) or rnd(0, 255)) end
  return table.concat(t)
end

-- valid UTF-8 text with some non-ASCII and non-BMP characters, maybe a NUL
local function text(n, allow_nul)
  local t = {}
  for i = 1, n do
    local r = rnd(1, 10)
    local cp = r <= 6 and rnd(32, 126) or r <= 8 and rnd(0xA0, 0xD7FF) or
               r == 9 and rnd(0xE000, 0xFFFD) or rnd(0x10000, 0x10FFFF)
    if allow_nul and rnd(1, 40) == 1 then cp = 0 end
    t[i] = utf8.char(cp)
  end
  return table.concat(t)
end

local function i64() return rnd(math.mininteger, math.maxinteger) end

local function float32(x) return (string.unpack("<f", string.pack("<f", x))) end

local function random_float()
  local r = rnd(1, 12)
  if r == 1 then return 0 / 0, "nan" end
  if r == 2 then return math.huge, math.huge end
  if r == 3 then return -math.huge, -math.huge end
  local x = (rnd() - 0.5) * 10 ^ rnd(-30, 30)
  return x, x
end

local function guid_bytes() return bytes(16) end

-- method stem -> { in_type, default out_type, gen() -> value, expected }
local kinds = {
  int8 = { 3, 0, function() local v = rnd(-128, 127) return v, v end },
  uint8 = { 4, 0, function() local v = rnd(0, 255) return v, v end },
  int16 = { 5, 0, function() local v = rnd(-32768, 32767) return v, v end },
  uint16 = { 6, 0, function() local v = rnd(0, 65535) return v, v end },
  int32 = { 7, 0, function() local v = rnd(-2147483648, 2147483647) return v, v end },
  uint32 = { 8, 0, function() local v = rnd(0, 4294967295) return v, v end },
  int64 = { 9, 0, function() local v = i64() return v, v end },
  uint64 = { 10, 0, function() local v = i64() return v, v end },
  hexint32 = { 20, 0, function() local v = rnd(0, 4294967295) return v, v end },
  hexint64 = { 21, 0, function() local v = i64() return v, v end },
  filetime_int64 = { 17, 0, function() local v = i64() return v, v end },
  float64 = { 12, 0, random_float },
  float32 = { 11, 0, function()
    local x = (rnd() - 0.5) * 10 ^ rnd(-20, 20)
    return x, float32(x)
  end },
  bool32 = { 13, 0, function()
    if rnd(1, 2) == 1 then local b = rnd(1, 2) == 1 return b, b end
    local v = rnd(-3, 3)
    return v, v ~= 0
  end },
  guid = { 15, 0, function()
    local b = guid_bytes()
    local g = tlgx.guid_text(b)
    return g:upper(), g
  end },
  guid_bytes_le = { 15, 0, function() local b = guid_bytes() return b, tlgx.guid_text(b) end },
  systemtime_bytes = { 18, 0, function() local b = bytes(16) return b, tlgx.systemtime(b) end },
  sid_bytes = { 19, 0, function()
    local n = rnd(0, 6)
    local b = string.char(1, n) .. bytes(6) .. bytes(4 * n)
    return b, tlgx.sid_text(b)
  end },
  zstr8 = { 2, 35, function() local s = text(rnd(0, 12), true) return s, tlgx.cut8(s) end },
  zstr8_bytes = { 2, 0, function() local s = bytes(rnd(0, 12)) return s, tlgx.cut8(s) end },
  str8 = { 23, 35, function() local s = text(rnd(0, 12), true) return s, s end },
  str8_bytes = { 23, 0, function() local s = bytes(rnd(0, 12)) return s, s end },
  zstr16 = { 1, 0, function() local s = text(rnd(0, 12), true) return s, tlgx.cut8(s) end },
  str16 = { 22, 0, function() local s = text(rnd(0, 12), true) return s, s end },
  zstr16_bytes_utf16le = { 1, 0, function()
    local s = bytes(2 * rnd(0, 8))
    return s, tlgx.utf16_to_utf8(tlgx.cut_utf16(s))
  end },
  str16_bytes_utf16le = { 22, 0, function()
    local s = bytes(2 * rnd(0, 8))
    return s, tlgx.utf16_to_utf8(s)
  end },
  binary_bytes = { 14, 0, function() local s = bytes(rnd(0, 20)) return s, s end, noseq = true },
  cbinary_bytes = { 25, 0, function() local s = bytes(rnd(0, 20)) return s, s end },
}
local stems = {}
for stem in pairs(kinds) do stems[#stems + 1] = stem end
table.sort(stems) -- pairs order is not fixed; the seed must give one sequence

local type_names = {
  [1] = "unicodestring", [2] = "ansistring", [3] = "int8", [4] = "uint8", [5] = "int16",
  [6] = "uint16", [7] = "int32", [8] = "uint32", [9] = "int64", [10] = "uint64", [11] = "float",
  [12] = "double", [13] = "bool32", [14] = "binary", [15] = "guid", [17] = "filetime",
  [18] = "systemtime", [19] = "sid", [20] = "hexint32", [21] = "hexint64",
  [22] = "countedstring", [23] = "countedansistring", [24] = "struct", [25] = "countedbinary",
}

-- Add random fields to eb; returns their expectations. `budget` counts the
-- 128 field slots (a sequence or binary costs 2).
local function add_fields(eb, n, depth, budget, prefix)
  local specs = {}
  for i = 1, n do
    local name = prefix .. i
    local tag = rnd(1, 4) == 1 and rnd(0, 0x0FFFFFFF) or 0
    if depth < 4 and budget.left > 6 and rnd(1, 8) == 1 then
      local count = rnd(1, 4)
      budget.left = budget.left - 1
      eb:add_struct(name, count, tag)
      specs[i] = { name = name, in_type = 24, tag = tag,
                   members = add_fields(eb, count, depth + 1, budget, name .. ".") }
    else
      local stem = stems[rnd(1, #stems)]
      local k = kinds[stem]
      local seq = not k.noseq and budget.left > 2 and rnd(1, 4) == 1
      budget.left = budget.left - ((seq or stem == "binary_bytes") and 2 or 1)
      local out = k[2]
      if rnd(1, 4) == 1 then out = rnd(0, 127) end
      local value, want
      if seq then
        value, want = {}, {}
        for j = 1, rnd(0, 5) do value[j], want[j] = k[3]() end
      else
        value, want = k[3]()
      end
      if out == etw.OutType.BOOLEAN and (k[1] == 3 or k[1] == 4) then
        if seq then
          for j = 1, #want do want[j] = want[j] ~= 0 end
        else
          want = want ~= 0
        end
      end
      eb["add_" .. stem .. (seq and "_seq" or "")](eb, name, value, out, tag)
      specs[i] = { name = name, in_type = k[1], out_type = out, tag = tag, seq = seq, want = want }
    end
  end
  return specs
end

local function random_header()
  return { level = rnd(0, 255), keyword = i64(), opcode = rnd(0, 255), id = rnd(0, 65535),
           version = rnd(0, 255), tag = rnd(0, 0x0FFFFFFF), task = rnd(0, 65535),
           channel = rnd(0, 255) }
end

local checked = 0

local function check_fields(specs, infos, values, where)
  checked = checked + #specs
  assert.are.equal(#specs, #infos, where .. ": field count")
  assert.are.equal(#specs, #values, where .. ": value count")
  for i, s in ipairs(specs) do
    local info, v, at = infos[i], values[i], where .. "/" .. s.name
    assert.are.equal(s.name, info.name, at)
    assert.are.equal(s.in_type, info.in_type, at)
    assert.are.equal(type_names[s.in_type], info.type, at)
    assert.are.equal(s.tag, info.tag, at)
    assert.is_true(rawequal(values[s.name], v) or v ~= v, at .. ": lookup by name")
    if s.members then
      assert.is_nil(info.out_type, at)
      assert.are.equal("table", type(v), at)
      check_fields(s.members, info.fields, v, at)
    else
      assert.are.equal(s.out_type, info.out_type, at)
      assert.are.equal(s.seq and "vcount" or nil, info.array, at)
      local want = s.want
      if want ~= want then want = "nan" end
      if s.seq then
        assert.are.equal(#s.want, #v, at)
        for j = 1, #s.want do
          local w = s.want[j]
          if w ~= w then w = "nan" end
          assert.is_true(tlgx.same_value(w, v[j]), at .. "[" .. j .. "]")
        end
      else
        assert.is_true(tlgx.same_value(want, v), at .. ": value")
      end
    end
  end
end

describe("etw.EventBuilder round trip", function()
  it("gives back random events field for field (" .. EVENTS .. " events, seed 42)", function()
    math.randomseed(42)
    local eb = etw.EventBuilder()
    for e = 1, EVENTS do
      local h = random_header()
      local name = "ev" .. e .. text(rnd(0, 3))
      eb:reset(name, h)
      local specs = add_fields(eb, rnd(0, 12), 0, { left = 100 }, "f")
      local ev = eb:decode("RoundTrip.Provider")
      local where = "event " .. e
      assert.is_nil(ev.decode_error, where)
      assert.are.equal(name, ev.name, where)
      assert.are.equal("RoundTrip.Provider", ev.provider, where)
      assert.are.equal(etw.providerid_from_name("RoundTrip.Provider"), ev.provider_id, where)
      for _, k in ipairs { "level", "keyword", "opcode", "id", "version", "task", "channel" } do
        assert.are.equal(h[k], ev[k], where .. " " .. k)
      end
      assert.are.equal(h.tag, ev.tags, where)
      check_fields(specs, ev.schema, ev.fields, where)
      assert.is_string(ev:json())
      assert.is_string(tostring(ev))
    end
    assert.is_true(checked > 3000, "only " .. checked .. " fields checked")
  end)
end)
