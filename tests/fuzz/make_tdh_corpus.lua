-- make_tdh_corpus.lua: writes the seed corpus of fuzz_tdh_walk.
--   etwlua tests/fuzz/make_tdh_corpus.lua [OUT_DIR]
-- Each seed: u8 pointer-size selector (1 = 4 bytes), u16 LE schema length,
-- TRACE_EVENT_INFO bytes (tests/spec/tdh_schema.lua), payload.
local dir = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
package.path = dir .. "/../spec/?.lua;" .. package.path
local tdh = require "tdh_schema"
local IN, PF, utf16 = tdh.IN, tdh.PF, tdh.utf16
local out_dir = arg[1] or "tests/fuzz/corpus/fuzz_tdh_walk"

local function seed(name, p4, schema, payload)
  local f = assert(io.open(out_dir .. "/" .. name, "wb"))
  f:write(string.pack("<B I2", p4 and 1 or 0, #schema), schema, payload)
  f:close()
end

local families = tdh.tei {
  provider = "P", event = "Families", top = 9,
  props = {
    { name = "Pid", intype = IN.uint32 }, { name = "When", intype = IN.filetime },
    { name = "Image", intype = IN.unicodestring }, { name = "Ok", intype = IN.bool },
    { name = "N", intype = IN.uint16 },
    { name = "Items", intype = IN.uint32, flags = PF.param_count, count = 4 },
    { name = "Pairs", flags = PF.struct | PF.fixed_count, start = 9, members = 2, count = 2 },
    { name = "Ptr", intype = IN.pointer }, { name = "Err", intype = IN.hexint32, outtype = 30 },
    { name = "K", intype = IN.uint8 }, { name = "V", intype = IN.ansistring },
  },
}
local payload = string.pack("<I4 i8", 4321, 132000000000000000) .. utf16("C:\\cmd.exe")
  .. string.pack("<I4 I2 I4I4I4", 1, 3, 10, 20, 30) .. "\1one\0\2two\0"
  .. string.pack("<I8 I4", 0x7ff612340000, 5)
seed("families-p8", false, families, payload)
seed("families-p4", true, families, payload:sub(1, #payload - 12) .. string.pack("<I4I4", 1, 2))
seed("families-short", false, families, payload:sub(1, 13))

local counted = tdh.tei {
  provider = "P", task = "T", opcode = "O", source = 1,
  props = {
    { name = "Len", intype = IN.uint16 },
    { name = "Verb", intype = IN.unicodestring, flags = PF.param_length, length = 0 },
    { name = "Cs", intype = 300 }, { name = "Rc", intype = 303 }, { name = "Sid", intype = 19 },
    { name = "Wsid", intype = 310 }, { name = "Ip6", intype = 14, outtype = 24 },
    { name = "Dump", intype = 309 }, { name = "Guid", intype = IN.guid },
    { name = "Rest", intype = 305 },
  },
}
seed("counted", false, counted, string.pack("<I2", 3) .. "G\0E\0T\0" .. string.pack("<I2", 4) .. "a\0b\0"
  .. "\0\3xyz" .. "\1\1\0\0\0\0\0\5\18\0\0\0" .. "\0\0\0\0" .. string.rep("\0", 16)
  .. string.pack("<I4", 2) .. "hi" .. string.rep("g", 16) .. "tail")
seed("nested", false, tdh.tei {
  provider = "P", event = "Nest", top = 1,
  props = {
    { name = "Outer", flags = PF.struct, start = 1, members = 2 },
    { name = "A", intype = IN.uint8 },
    { name = "Inner", flags = PF.struct | PF.fixed_count, start = 3, members = 1, count = 3 },
    { name = "B", intype = IN.int32 },
  },
}, string.pack("<B i4 i4 i4", 7, -1, -2, -3))

-- More shapes (issue 9: coverage still grew after 10 minutes with 6 seeds):
-- every fixed-size in-type with both pointer sizes and the out-types the
-- formatter maps, every variable-size in-type, arrays counted by another
-- property or fixed, arrays of structs, deep nesting, fixed lengths.
local OUTS = { 13, 15, 20, 21, 22, 23, 24, 25, 28, 30, 31, 32, 34, 35, 38 }
local fixed = {
  { 3, "<i1", -5 }, { 4, "<I1", 250 }, { 5, "<i2", -300 }, { 6, "<I2", 60000 },
  { 7, "<i4", -70000 }, { 8, "<I4", 4000000000 }, { 9, "<i8", -1 }, { 10, "<I8", 1 << 62 },
  { 11, "<f", 1.5 }, { 12, "<d", -2.25 }, { 13, "<I4", 1 }, { 17, "<i8", 132000000000000000 },
  { 20, "<I4", 0xC0000005 }, { 21, "<I8", 0x7ff612340000 }, { 306, "<I2", 0x263A },
  { 307, "<I1", 65 },
}
for _, p4 in ipairs { false, true } do
  local props, data = {}, {}
  for i, f in ipairs(fixed) do
    props[#props + 1] = { name = "F" .. i, intype = f[1], outtype = OUTS[i % #OUTS + 1] }
    data[#data + 1] = string.pack(f[2], f[3])
  end
  props[#props + 1] = { name = "Ptr", intype = IN.pointer, outtype = 16 }
  props[#props + 1] = { name = "Size", intype = 308 }
  props[#props + 1] = { name = "G", intype = IN.guid }
  props[#props + 1] = { name = "St", intype = 18 }
  local ptr = p4 and "<I4I4" or "<I8I8"
  data[#data + 1] = string.pack(ptr, 0x401000, 4096) .. string.rep("\x11", 16)
    .. string.pack("<I2I2I2I2I2I2I2I2", 2024, 2, 1, 29, 23, 59, 58, 999)
  seed(p4 and "fixed-p4" or "fixed-p8", p4,
       tdh.tei { provider = "P", event = "Fixed", props = props }, table.concat(data))
end

seed("variable", false, tdh.tei {
  provider = "P", event = "Variable",
  props = {
    { name = "U", intype = IN.unicodestring }, { name = "A", intype = IN.ansistring },
    { name = "U4", intype = IN.unicodestring, flags = 0x10, length = 4 },
    { name = "A3", intype = IN.ansistring, flags = 0x10, length = 3 },
    { name = "Bin", intype = 14, length = 5 }, { name = "Ip6", intype = 14, outtype = 24 },
    { name = "Sid", intype = 19 }, { name = "Cs", intype = 300 }, { name = "Ca", intype = 301 },
    { name = "Rcs", intype = 302 }, { name = "Rca", intype = 303 }, { name = "Hex", intype = 309 },
    { name = "Wsid", intype = 310 }, { name = "Nul", intype = 0 },
    { name = "Xml", intype = IN.unicodestring, flags = 0x08 },
    { name = "Tail", intype = 305 },
  },
}, utf16("wide") .. "narrow\0" .. "a\0b\0c\0d\0" .. "xyz" .. "\1\2\3\4\5" .. string.rep("\0", 15) .. "\1"
  .. "\1\2\0\0\0\0\0\5\32\0\0\0\33\2\0\0" .. "\4\0h\0i\0" .. "\2\0ok" .. "\0\4h\0i\0" .. "\0\2ok"
  .. string.pack("<I4", 3) .. "\xde\xad\xbe" .. string.pack("<I8I8", 1, 0) .. "\1\1\0\0\0\0\0\5\18\0\0\0"
  .. utf16("<x/>") .. "rest")
seed("variable-p4", true, tdh.tei {
  provider = "P", event = "Wsid4",
  props = { { name = "W", intype = 310 }, { name = "Z", intype = 310 }, { name = "E", intype = 304 } },
}, string.pack("<I4I4", 1, 0) .. "\1\1\0\0\0\0\0\5\18\0\0\0" .. string.pack("<I4", 0) .. "e\0n\0d\0")

seed("arrays", false, tdh.tei {
  provider = "P", event = "Arrays", top = 7,
  props = {
    { name = "N", intype = IN.uint16 },
    { name = "Shorts", intype = IN.uint16, flags = PF.param_count, count = 0 },
    { name = "Names", intype = IN.ansistring, flags = PF.fixed_count, count = 3 },
    { name = "Len", intype = IN.uint32 },
    { name = "Blob", intype = 14, flags = PF.param_length, length = 3 },
    { name = "Recs", flags = PF.struct | PF.param_count, start = 7, members = 2, count = 0 },
    { name = "Guids", intype = IN.guid, flags = PF.fixed_count, count = 2 },
    { name = "Id", intype = IN.uint32 }, { name = "Tag", intype = IN.unicodestring },
  },
}, string.pack("<I2 I2I2", 2, 7, 8) .. "a\0bb\0ccc\0" .. string.pack("<I4", 4) .. "\9\8\7\6"
  .. string.pack("<I4", 1) .. utf16("x") .. string.pack("<I4", 2) .. utf16("yy")
  .. string.rep("\1", 16) .. string.rep("\2", 16))
seed("arrays-empty", false, tdh.tei {
  provider = "P", event = "Empty", top = 2,
  props = {
    { name = "N", intype = IN.uint8 },
    { name = "Xs", intype = IN.uint32, flags = PF.param_count, count = 0 },
  },
}, "\0")
seed("arrays-huge-count", false, tdh.tei {
  provider = "P", event = "Huge", top = 2,
  props = {
    { name = "N", intype = IN.uint32 },
    { name = "Xs", flags = PF.struct | PF.param_count, start = 2, members = 1, count = 0 },
    { name = "B", intype = IN.uint8 },
  },
}, string.pack("<I4", 0xFFFFFFFF) .. "\1\2\3")

-- L1 { L2 { ... L6 { V6a, V6b }, V5 } ..., V1 }; even levels repeat twice
local deep = { [1] = { name = "L1", flags = PF.struct, start = 1, members = 2 } }
for i = 1, 5 do
  deep[2 * i] = { name = "L" .. (i + 1), start = 2 * i + 1, members = 2, count = 2,
                  flags = PF.struct | ((i + 1) % 2 == 0 and PF.fixed_count or 0) }
  deep[2 * i + 1] = { name = "V" .. i, intype = IN.uint8 }
end
deep[12] = { name = "V6a", intype = IN.uint8 }
deep[13] = { name = "V6b", intype = IN.uint16, outtype = 20 }
local bytes = {}
for i = 1, 200 do bytes[i] = string.char(i % 256) end
seed("deep", false, tdh.tei { provider = "P", event = "Deep", top = 1, props = deep },
     table.concat(bytes))
seed("no-props", false, tdh.tei { provider = "P", event = "None", props = {} }, "")
seed("bad-start", false, tdh.tei {
  provider = "P", event = "Loop", top = 1,
  props = { { name = "S", flags = PF.struct, start = 0, members = 1 } },
}, "\1\2\3\4")
