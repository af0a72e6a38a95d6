-- tlg_expect.lua: what decoded TraceLogging values should look like, computed
-- independently of the C decoder (used by decode_spec and roundtrip_spec).
local util = require "testutil"

local M = {}

function M.guid_text(b)
  local d1, d2, d3 = string.unpack("<I4I2I2", b)
  return string.format("%08x-%04x-%04x-", d1, d2, d3) ..
    util.tohex(b:sub(9, 10)) .. "-" .. util.tohex(b:sub(11, 16))
end

-- UTF-16LE bytes to UTF-8; unpaired surrogates and an odd last byte -> U+FFFD
function M.utf16_to_utf8(s)
  local out, i, n = {}, 1, #s
  while i + 1 <= n do
    local u = string.unpack("<I2", s, i)
    i = i + 2
    if u >= 0xD800 and u < 0xDC00 and i + 1 <= n then
      local lo = string.unpack("<I2", s, i)
      if lo >= 0xDC00 and lo < 0xE000 then
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
        i = i + 2
      end
    end
    if u >= 0xD800 and u < 0xE000 then u = 0xFFFD end
    out[#out + 1] = utf8.char(u)
  end
  if i <= n then out[#out + 1] = utf8.char(0xFFFD) end
  return table.concat(out)
end

function M.cut_utf16(s) -- through the first 00 00 at an even offset
  for i = 1, #s - 1, 2 do
    if s:sub(i, i + 1) == "\0\0" then return s:sub(1, i - 1) end
  end
  return s
end

function M.cut8(s) return (s:match("^[^%z]*")) end

function M.sid_text(b)
  local rev, cnt = b:byte(1, 2)
  local auth = 0
  for i = 3, 8 do auth = auth * 256 + b:byte(i) end
  local t = { "S-" .. rev .. "-" .. (auth >= 1 << 32 and string.format("0x%012X", auth) or tostring(auth)) }
  for k = 0, cnt - 1 do t[#t + 1] = tostring((string.unpack("<I4", b, 9 + 4 * k))) end
  return table.concat(t, "-")
end

function M.systemtime(b)
  local v = { string.unpack("<I2I2I2I2I2I2I2I2", b) }
  return { year = v[1], month = v[2], day_of_week = v[3], day = v[4], hour = v[5],
           minute = v[6], second = v[7], milliseconds = v[8] }
end

-- Deep equality that also tells integers from floats and matches NaN ("nan").
function M.same_value(want, got)
  if want == "nan" then return got ~= got end
  if type(want) == "table" then
    if type(got) ~= "table" then return false end
    for k, v in pairs(want) do
      if not M.same_value(v, got[k]) then return false end
    end
    return #want == #got
  end
  return want == got and math.type(want) == math.type(got)
end

return M
