-- etw.decode_blobs and etw.Event over the TraceLogging vectors (shared/vectors):
-- every event case is decoded from its raw metadata/data bytes (no encoder
-- involved) and compared with the case's `decoded` schema and with the values
-- its ops wrote.
local etw = require "etw"
local cjson = require "cjson"
local util = require "testutil"
local tlgx = require "tlg_expect"

local fromhex = util.fromhex

local guid_text, utf16_to_utf8, cut_utf16, cut8 = tlgx.guid_text, tlgx.utf16_to_utf8, tlgx.cut_utf16, tlgx.cut8
local sid_text, systemtime, same_value = tlgx.sid_text, tlgx.systemtime, tlgx.same_value

-- ---------------------------------------------------------------- expected values

local int_kinds = { -- method stem -> bytes, signed
  int8 = { 1, true }, uint8 = { 1, false }, int16 = { 2, true }, uint16 = { 2, false },
  int32 = { 4, true }, uint32 = { 4, false }, int64 = { 8, true }, uint64 = { 8, false },
  intptr = { 8, true }, uintptr = { 8, false }, hexint32 = { 4, false }, hexint64 = { 8, false },
  hexintptr = { 8, false }, filetime_int64 = { 8, true },
}

local function int_value(tv, bytes, signed)
  local v = tonumber("0x" .. tv.bits64) -- wraps to the same 64 bits
  if bytes == 8 then return v end
  v = v & ((1 << (8 * bytes)) - 1)
  if signed and v >= 1 << (8 * bytes - 1) then v = v - (1 << (8 * bytes)) end
  return v
end

local function raw(tv) -- the bytes of a str/bytes typed value
  return fromhex(tv.t == "str" and tv.utf8 or tv.hex)
end

-- The value an add_<stem> op should decode to; nil when not checked.
local function expected(stem, tv, out_type)
  local k = int_kinds[stem]
  if k then
    local v = int_value(tv, k[1], k[2])
    if k[1] == 1 and out_type == etw.OutType.BOOLEAN then return v ~= 0 end
    return v
  elseif stem == "float64" or stem == "float32" then
    if tv.repr == "nan" then return "nan" end
    local d = string.unpack(">d", fromhex(tv.f64))
    return stem == "float32" and string.unpack("<f", string.pack("<f", d)) or d
  elseif stem == "bool32" then
    if tv.t == "bool" then return tv.v end
    return int_value(tv, 4, true) ~= 0
  elseif stem == "zstr16" or stem == "zstr8" or stem == "zstr8_bytes" then
    return cut8(raw(tv))
  elseif stem == "zstr16_bytes_utf16le" then
    return utf16_to_utf8(cut_utf16(raw(tv)))
  elseif stem == "str16_bytes_utf16le" then
    return utf16_to_utf8(raw(tv))
  elseif stem == "str16" or stem == "str8" or stem == "str8_bytes" or
         stem == "binary_bytes" or stem == "cbinary_bytes" then
    return raw(tv)
  elseif stem == "guid" then
    return guid_text(fromhex(tv.bytes_le))
  elseif stem == "guid_bytes_le" then
    return guid_text(raw(tv))
  elseif stem == "systemtime_bytes" then
    return systemtime(raw(tv))
  elseif stem == "sid_bytes" then
    return sid_text(raw(tv))
  end
end

-- ---------------------------------------------------------------- helpers

local function arg_of(vectors, op, role)
  for _, a in ipairs(op.args) do
    if a.role == role then return a end
  end
  for _, p in ipairs(vectors.api[op.method] or {}) do
    if p.role == role then return p.default end
  end
end

-- ev.schema and ev.fields flattened in metadata order
local function flatten(infos, values, depth, out)
  for i, info in ipairs(infos) do
    local v = values and values[i]
    out[#out + 1] = { info = info, value = v, depth = depth }
    if info.fields and not info.array then flatten(info.fields, v, depth + 1, out) end
  end
  return out
end

local function array_kind(info)
  return info.array or (info.schema and "custom") or "none"
end

local function header_of(case)
  local d, w = case.expected.event_descriptor, case.write
  local h = { id = d.id, version = d.version, channel = d.channel, level = d.level,
              opcode = d.opcode, task = d.task, keyword = tonumber("0x" .. d.keyword_hex) }
  if case.provider.id.t == "uuid" then h.provider_id = case.provider.id.v end
  if w.activity_id.t == "uuid" then h.activity_id = w.activity_id.v end
  if w.related_activity_id.t == "uuid" then h.related_activity_id = w.related_activity_id.v end
  return h
end

local function event_of(case)
  local e = case.expected
  return etw.decode_blobs(fromhex(e.metadata_hex), fromhex(e.data_hex),
                          fromhex(e.provider_traits_hex), header_of(case))
end

-- ---------------------------------------------------------------- specs

describe("etw.decode_blobs() over the vectors", function()
  local dir = util.shared_dir()
  if not dir then
    pending("ETWLUA_SHARED is not set or has no DESIGN.md: vectors not available")
    return
  end
  local vectors = cjson.decode(util.read_file(dir .. "/vectors/tlg-vectors.json"))

  for _, case in ipairs(vectors.event_cases) do
    local dec = case.expected.decoded
    describe(case.id, function()
      local ev = event_of(case)

      it("decodes without error", function()
        assert.is_nil(ev.decode_error)
      end)

      it("has the event name, tag and header", function()
        assert.are.equal(fromhex(dec.event_name_hex), ev.name)
        assert.are.equal(dec.event_tag, ev.tags)
        local d = case.expected.event_descriptor
        assert.are.equal(d.level, ev.level)
        assert.are.equal(d.channel, ev.channel)
        assert.are.equal(tonumber("0x" .. d.keyword_hex), ev.keyword)
        assert.are.equal(case.expected.provider_id, ev.provider_id)
        assert.are.equal(fromhex(case.provider.name.hex), ev.provider)
        local w = case.write
        assert.are.equal(w.activity_id.t == "uuid" and w.activity_id.v or nil, ev.activity_id)
        assert.is_nil(ev.pid)
        assert.is_nil(ev.timestamp)
      end)

      it("has the schema of every field", function()
        local flat = flatten(ev.schema, ev.fields, 0, {})
        assert.are.equal(#dec.fields, #flat)
        for i, want in ipairs(dec.fields) do
          local got = flat[i]
          local where = case.id .. " field " .. i
          assert.are.equal(fromhex(want.name_hex), got.info.name, where)
          assert.are.equal(want.in_type, got.info.in_type, where)
          assert.are.equal(want.array, array_kind(got.info), where)
          assert.are.equal(want.tag, got.info.tag, where)
          assert.are.equal(want.depth, got.depth, where)
          if want.in_type == 24 then
            assert.are.equal(want.struct_fields, #got.info.fields, where)
            assert.is_nil(got.info.out_type, where)
          else
            assert.are.equal(want.out_type, got.info.out_type, where)
          end
          if want.count then assert.are.equal(want.count, #got.value, where) end
        end
      end)

      it("gives back the values the ops wrote", function()
        local first = 1
        for k, op in ipairs(case.ops) do
          if op.method == "reset" then first = k + 1 end
        end
        local flat = flatten(ev.schema, ev.fields, 0, {})
        local checked = 0
        for k = first, #case.ops do
          local op, got = case.ops[k], flat[k - first + 1]
          local stem = op.method:gsub("^add_", ""):gsub("_seq$", "")
          local seq = op.method:match("_seq$")
          local tv = arg_of(vectors, op, "value")
          local out = arg_of(vectors, op, "out_type")
          out = out and int_value(out, 1, false)
          local where = case.id .. " op " .. k .. " " .. op.method
          if op.method == "add_struct" then
            assert.are.equal(int_value(arg_of(vectors, op, "field_count"), 8, false), #got.value, where)
          elseif seq then
            assert.are.equal(#tv.items, #got.value, where)
            for j, item in ipairs(tv.items) do
              local want = expected(stem, item, out)
              assert.is_true(same_value(want, got.value[j]), where .. " item " .. j)
            end
            checked = checked + 1
          else
            local want = expected(stem, tv, out)
            assert.is_true(want ~= nil, where .. ": no expectation")
            assert.is_true(same_value(want, got.value), where)
            checked = checked + 1
          end
          assert.are.equal(fromhex(arg_of(vectors, op, "name").hex), got.info.name, where)
        end
      end)

      it("looks fields up by name and iterates them in order", function()
        local names = {}
        for name, v in pairs(ev.fields) do
          names[#names + 1] = name
          assert.is_true(rawequal(ev.fields[#names], v) or v ~= v)
        end
        assert.are.equal(#ev.schema, #names)
        for i, info in ipairs(ev.schema) do
          assert.are.equal(info.name, names[i])
        end
      end)

      it("writes valid JSON and a text line", function()
        local j = cjson.decode(ev:json())
        assert.are.equal(ev.provider_id, j.provider_id)
        assert.are.equal(ev.name, j.name)
        assert.are.equal("table", type(j.fields))
        assert.is_string(tostring(ev))
      end)
    end)
  end
end)

describe("etw.Event", function()
  local meta = fromhex("3c000073747275637473007374617274000473747275637431009882ff80800" ..
    "06e6573746564310004737472756374320098016e6573746564320004")
  local traits = fromhex("11004574774c75612e566563746f727300")

  it("exposes header fields given to decode_blobs", function()
    local ev = etw.decode_blobs(meta, "\0\1\2", traits, {
      pid = 7, tid = 8, cpu = 1, timestamp = 132223104001234567, keyword = -1, level = 4,
      activity_id = "00112233-4455-6677-8899-AABBCCDDEEFF" })
    assert.are.equal(7, ev.pid)
    assert.are.equal(8, ev.tid)
    assert.are.equal(1, ev.cpu)
    assert.are.equal(132223104001234567, ev.timestamp)
    assert.are.equal(-1, ev.keyword)
    assert.are.equal("00112233-4455-6677-8899-aabbccddeeff", ev.activity_id)
    assert.is_nil(ev.related_activity_id)
    assert.are.equal("EtwLua.Vectors", ev.provider)
    local j = ev:json()
    assert.matches('"keyword":"18446744073709551615"', j, 1, true)
    assert.matches('"timestamp":"2020-01-01T00:00:00.1234567Z"', j, 1, true)
    assert.matches('"fields":{"start":0,"struct1":{"nested1":1,"struct2":{"nested2":2}}}', j, 1, true)
    assert.are.equal("EtwLua.Vectors/structs(level=4 keyword=0xffffffffffffffff) start=0 " ..
      "struct1={nested1=1 struct2={nested2=2}}", tostring(ev))
  end)

  it("keeps the fields decoded before an error", function()
    local ev = etw.decode_blobs(meta, "\0\1")
    assert.are.equal('TLG_E_TRUNCATED: blob ends inside an item at field 5 ("nested2")',
                     ev.decode_error)
    assert.are.equal(0, ev.fields.start)
    assert.are.equal(1, ev.fields.struct1.nested1)
    assert.are.same({}, { next(ev.fields.struct1.struct2) })
    assert.are.same(ev.decode_error, cjson.decode(ev:json()).decode_error)
    assert.matches("[TLG_E_TRUNCATED", tostring(ev), 1, true)
  end)

  it("reports trailing data and a bad size prefix", function()
    assert.matches("^TLG_E_TRAILING", etw.decode_blobs(meta, "\0\1\2\3").decode_error)
    local ev = etw.decode_blobs(meta .. "x", "")
    assert.are.equal("TLG_E_SIZE: size prefix does not match the blob length in the event header",
                     ev.decode_error)
    assert.is_nil(ev.name)
    assert.are.equal(0, #ev.fields)
  end)

  it("caches fields and schema", function()
    local ev = etw.decode_blobs(meta, "\0\1\2")
    assert.are.equal(ev.fields, ev.fields)
    assert.are.equal(ev.schema, ev.schema)
  end)

  it("decodes arrays of structs and fixed-count arrays", function()
    -- pts: VCOUNT array of struct{x uint8, name ansistring}; c: CCOUNT uint16[2]
    local m = "\0\0\0ev\0" .. "pts\0\xd8\x02" .. "x\0\x04" .. "name\0\x02" .. "c\0\x26\x02\x00"
    m = string.pack("<I2", #m) .. m:sub(3)
    local ev = etw.decode_blobs(m, "\2\0" .. "\1a\0" .. "\2b\0" .. "\1\0\2\0")
    assert.is_nil(ev.decode_error)
    local pts = ev.fields.pts
    assert.are.equal(2, #pts)
    assert.are.equal(1, pts[1].x)
    assert.are.equal("b", pts[2].name)
    assert.are.same({ 1, 2 }, ev.fields.c)
    assert.are.equal("vcount", ev.schema[1].array)
    assert.are.equal("ccount", ev.schema[2].array)
    assert.are.equal(2, ev.schema[2].ccount)
    assert.are.equal("x", ev.schema[1].fields[1].name)
    local order = {}
    for k in pairs(pts[2]) do order[#order + 1] = k end
    assert.are.same({ "x", "name" }, order)
  end)

  it("has no fields without metadata", function()
    local ev = etw.decode_blobs("")
    assert.matches("^TLG_E_SIZE", ev.decode_error)
  end)

  it("rejects bad header fields", function()
    assert.has_error(function() etw.decode_blobs(meta, "", nil, { colour = 1 }) end,
      "decode_blobs: unknown header field 'colour'")
    assert.has_error(function() etw.decode_blobs(meta, "", nil, { level = 256 }) end,
      "decode_blobs: header.level must be an integer in range")
    assert.has_error(function() etw.decode_blobs(meta, "", nil, { activity_id = "x" }) end,
      "decode_blobs: header.activity_id must be a GUID string")
  end)
end)
