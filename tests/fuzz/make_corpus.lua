-- make_corpus.lua: writes the seed corpus of fuzz_tlg_decode.
--   etwlua tests/fuzz/make_corpus.lua [SHARED_DIR] [OUT_DIR]
-- Seeds are our own derived bytes: every small event case of
-- SHARED_DIR/vectors/tlg-vectors.json (metadata + data), plus hand-made events
-- for what the Python vectors never contain (arrays of structs, fixed-count
-- arrays, custom schemas, deep nesting, malformed forms). Each file is
-- u16 LE metadata length, metadata (with its own u16 size), data.
local cjson = require "cjson"

local shared = arg[1] or os.getenv("ETWLUA_SHARED") or "../shared"
local out_dir = arg[2] or "tests/fuzz/corpus/fuzz_tlg_decode"
local MAX_SEED = 2048 -- bytes; keeps the corpus small

local function fromhex(h)
  return (h:gsub("%s", ""):gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local function write_seed(name, meta, data)
  local blob = string.pack("<I2", #meta) .. meta .. data
  if #blob > MAX_SEED then return false end
  local f = assert(io.open(out_dir .. "/" .. name, "wb"))
  f:write(blob)
  f:close()
  return true
end

-- An event from "name\0 + hex" pieces: the u16 size is filled in.
local function event(fields, data_hex)
  local m = "\0\0\0ev\0"
  for _, fld in ipairs(fields) do
    m = m .. fld[1] .. "\0" .. fromhex(fld[2])
  end
  return string.pack("<I2", #m) .. m:sub(3), fromhex(data_hex or "")
end

local hand = {
  ["struct-array"] = { { { "pts", "d8 02" }, { "x", "04" }, { "n", "02" }, { "after", "04" } },
                       "0200 01 6100 02 6200 09" },
  ["struct-array-empty"] = { { { "pts", "d8 02" }, { "x", "04" }, { "in", "98 01" }, { "y", "48" },
                               { "after", "04" } }, "0000 09" },
  ["ccount-struct-nest"] = { { { "outer", "b8 02 0200" }, { "inner", "d8 01" }, { "v", "04" },
                               { "st", "98 01" }, { "w", "06" }, { "tail", "02" } },
                             "0100 07 3412 0200 08 09 7856 7a00" },
  ["ccount"] = { { { "c", "25 0200" }, { "c0", "24 0000" }, { "s", "a1 04 0100" } },
                 "0100 0200 7a00 0000" },
  ["custom"] = { { { "c", "e0 03 0300 abcdef" }, { "after", "04" } }, "0200 0102 07" },
  ["tags"] = { { { "f", "84 80 ff b7 97 2f" }, { "g", "84 80 ff b7 17" }, { "h", "84 80 7f" } },
               "01 02 03" },
  ["all-scalars"] = { { { "a", "01" }, { "b", "02" }, { "c", "0d" }, { "d", "0e" }, { "e", "0f" },
                        { "f", "10" }, { "g", "11" }, { "h", "12" }, { "i", "13" }, { "j", "16" },
                        { "k", "17" }, { "l", "19" }, { "m", "92 26" }, { "n", "84 03" } },
    "4100 0000 6100 01000000 0100 ff 00112233445566778899aabbccddeeff 0000000000000000" ..
    "00803ed5deb19d01 e807 0200 0400 1d00 0d00 0e00 0f00 1000 0101 000000000005 12000000" ..
    "0200 4100 0100 78 0000 e807 0100 0100 0100 0000 0000 0000 0000 01" },
  ["utf16-surrogates"] = { { { "s", "16" } }, "0800 3dd8 00de 00d8 4100" },
  ["bomb"] = { { { "a", "b8 01 ffff" }, { "b", "b8 01 ffff" }, { "c", "24 0000" } } },
  ["struct-short"] = { { { "st", "98 03" }, { "a", "04" } }, "01" },
  ["trailing"] = { { { "a", "04" } }, "01 02" },
  ["vcount-huge"] = { { { "v", "48" } }, "ffff 01000000" },
}
local deep = {}
for i = 1, 34 do deep[i] = { "s", "98 01" } end
deep[#deep + 1] = { "leaf", "04" }
hand["deep-structs"] = { deep, "2a" }
local deep_arr = {}
for i = 1, 34 do deep_arr[i] = { "a", "d8 01" } end
deep_arr[#deep_arr + 1] = { "leaf", "04" }
hand["deep-arrays"] = { deep_arr, string.rep("0100", 34) .. "2a" }

local n = 0
for name, h in pairs(hand) do
  local meta, data = event(h[1], h[2])
  if write_seed("hand-" .. name, meta, data) then n = n + 1 end
end

local f = io.open(shared .. "/vectors/tlg-vectors.json", "rb")
if f then
  local vectors = cjson.decode(f:read("a"))
  f:close()
  for _, case in ipairs(vectors.event_cases) do
    local e = case.expected
    local name = "vec-" .. case.id:gsub("^hand/", ""):gsub("[^%w%-]", "_")
    if write_seed(name, fromhex(e.metadata_hex), fromhex(e.data_hex)) then n = n + 1 end
  end
else
  io.stderr:write("make_corpus: no vectors at ", shared, "; hand-made seeds only\n")
end
print(("make_corpus: %d seeds in %s"):format(n, out_dir))
