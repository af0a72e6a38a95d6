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
