-- etw.Event beyond the vectors: the shape of ev.fields (shared metatables,
-- duplicates, the shape cache), lazily made ev.schema / ev.decode_error,
-- events without TraceLogging metadata (ev.payload), record details
-- (ev.header_kind, CPU times) and extended data items (ev.stack, ev.sid,
-- ev.ext, ...), all through etw.decode_blobs, so no file is needed; then the
-- same on real ETL samples when ../shared is there.
local etw = require "etw"
local cjson = require "cjson"
local util = require "testutil"

local pack = string.pack

-- metadata and data of a builder event
local function blobs(name, add)
  local eb = etw.EventBuilder()
  eb:reset(name)
  add(eb)
  local _, meta, data = eb:bytes()
  return meta, data
end

local function keys_in_pairs_order(t)
  local out = {}
  for k, v in pairs(t) do out[#out + 1] = { k, v } end
  return out
end

describe("ev.fields", function()
  local meta, data = blobs("E", function(eb)
    eb:add_int32("a", 1)
    eb:add_struct("s", 2)
    eb:add_uint8("x", 7)
    eb:add_str8("y", "why")
    eb:add_int32("a", 2) -- a repeated name
    eb:add_uint16_seq("arr", { 4, 5 })
  end)

  it("is a sequence, a record (first of a name) and ordered under pairs", function()
    local f = etw.decode_blobs(meta, data).fields
    assert.are.equal(4, #f)
    assert.are.equal(1, f[1])
    assert.are.equal(1, f.a)
    assert.are.equal(2, f[3])
    assert.are.same({ 4, 5 }, f.arr)
    assert.are.equal(7, f.s.x)
    assert.are.equal("why", f.s[2])
    assert.are.same({ { "a", 1 }, { "s", f.s }, { "a", 2 }, { "arr", f.arr } },
                    keys_in_pairs_order(f))
    assert.are.same({ { "x", 7 }, { "y", "why" } }, keys_in_pairs_order(f.s))
    local n = 0
    for _ in next, f do n = n + 1 end
    assert.are.equal(4 + 3, n) -- next sees both kinds of keys: 4 positions, 3 names
  end)

  it("shares one metatable per metadata and struct level across events", function()
    local f1, f2 = etw.decode_blobs(meta, data).fields, etw.decode_blobs(meta, data).fields
    assert.are_not.equal(f1, f2)
    assert.are.equal(getmetatable(f1), getmetatable(f2))
    assert.are.equal(getmetatable(f1.s), getmetatable(f2.s))
    assert.are_not.equal(getmetatable(f1), getmetatable(f1.s))
    local other = etw.decode_blobs(blobs("E", function(eb) eb:add_int32("b", 1) end)).fields
    assert.are_not.equal(getmetatable(f1), getmetatable(other))
    assert.are.equal("etw.Fields", getmetatable(f1).__name)
  end)

  it("tells metadata of the same length apart", function()
    local m1, d1 = blobs("E", function(eb) eb:add_int32("p", 1) end)
    local m2, d2 = blobs("E", function(eb) eb:add_int32("q", 2) end)
    assert.are.equal(#m1, #m2)
    for _ = 1, 2 do
      assert.are.same({ { "p", 1 } }, keys_in_pairs_order(etw.decode_blobs(m1, d1).fields))
      assert.are.same({ { "q", 2 } }, keys_in_pairs_order(etw.decode_blobs(m2, d2).fields))
    end
  end)

  it("stays right when the shape cache starts over", function()
    local first_m, first_d = blobs("E", function(eb) eb:add_int32("f0", 0) end)
    assert.are.equal(0, etw.decode_blobs(first_m, first_d).fields.f0)
    for i = 1, 5000 do
      local m, d = blobs("E", function(eb) eb:add_int32("f" .. i, i) end)
      assert.are.equal(i, etw.decode_blobs(m, d).fields["f" .. i])
    end
    local f = etw.decode_blobs(first_m, first_d).fields
    assert.are.same({ { "f0", 0 } }, keys_in_pairs_order(f))
  end)

  it("keeps the bytes it was made from", function()
    local ev = etw.decode_blobs(table.concat { meta }, table.concat { data })
    collectgarbage()
    collectgarbage()
    assert.are.equal("why", ev.fields.s.y)
  end)

  it("makes ev.schema and ev.decode_error on their own, in any order", function()
    local bad = etw.decode_blobs(meta, data:sub(1, 6))
    assert.matches("^TLG_E_TRUNCATED", bad.decode_error)
    assert.are.equal("a", bad.schema[1].name)
    assert.are.equal(bad.schema, bad.schema)
    assert.are.equal(1, bad.fields.a)
    assert.matches("^TLG_E_TRUNCATED", bad.decode_error)
    local good = etw.decode_blobs(meta, data)
    assert.are.equal("struct", good.schema[2].type)
    assert.are.equal("x", good.schema[2].fields[1].name)
    assert.is_nil(good.decode_error)
    assert.are.equal(7, good.fields.s.x)
    assert.is_nil(good.decode_error)
  end)

  it("has no metatable surprises for events without fields", function()
    local ev = etw.decode_blobs(blobs("Empty", function() end))
    assert.are.equal(0, #ev.fields)
    assert.is_nil(next(ev.fields))
    assert.are.same({}, keys_in_pairs_order(ev.fields))
    assert.are.equal("Empty", ev.name)
  end)
end)

describe("events without TraceLogging metadata", function()
  local ev = etw.decode_blobs(nil, "\1\2\255", nil, {
    header_kind = "classic", pid = 4, tid = 5, cpu = 0, timestamp = 132223104000000000,
    provider_id = "9e814aad-3204-11d2-9a82-006008a86939", opcode = 10, level = 4,
    kernel_time = 3, user_time = 9 })

  it("has an empty ev.fields, no name and no decode error", function()
    assert.is_nil(ev.name)
    assert.is_nil(ev.tags)
    assert.is_nil(ev.decode_error)
    assert.are.equal(0, #ev.fields)
    assert.is_nil(next(ev.fields))
    assert.are.same({}, ev.schema)
  end)

  it("has its bytes in ev.payload", function()
    assert.are.equal("\1\2\255", ev.payload)
    assert.are.equal("", etw.decode_blobs(nil).payload)
  end)

  it("writes the payload as hex in JSON, and a one-line text", function()
    local j = cjson.decode(ev:json())
    assert.are.equal("0102ff", j.payload)
    assert.are.same({}, j.fields)
    assert.are.equal("classic", j.header_kind)
    assert.are.equal(3, j.kernel_time)
    assert.are.equal(9, j.user_time)
    assert.is_nil(j.name)
    -- the kernel logger's GUID has a well-known name (sch_names.c), no schema for opcode 0
    assert.are.equal("MSNT_SystemTrace/?(level=4 keyword=0x0)", tostring(ev))
  end)

  it("leaves ev.payload out of the JSON of TraceLogging events", function()
    local m, d = blobs("T", function(eb) eb:add_int32("a", 1) end)
    local tl = etw.decode_blobs(m, d)
    assert.are.equal(d, tl.payload)
    assert.is_nil(cjson.decode(tl:json()).payload)
  end)
end)

describe("record details", function()
  local m, d = blobs("E", function(eb) eb:add_int32("a", 1) end)

  it("names the header kind", function()
    assert.is_nil(etw.decode_blobs(m, d).header_kind)
    local kinds = { "event_header", "classic", "instance", "system", "compact", "perfinfo", "wpp" }
    for i, name in ipairs(kinds) do
      assert.are.equal(name, etw.decode_blobs(m, d, nil, { header_kind = name }).header_kind)
      assert.are.equal(name, etw.decode_blobs(m, d, nil, { header_kind = i }).header_kind)
    end
    assert.has_error(function() etw.decode_blobs(m, d, nil, { header_kind = "mof" }) end,
      "decode_blobs: header.header_kind must be one of the ev.header_kind names")
    assert.has_error(function() etw.decode_blobs(m, d, nil, { header_kind = 8 }) end,
      "decode_blobs: header.header_kind must be an integer in range")
  end)

  it("has CPU times only for headers that carry them", function()
    for _, kind in ipairs { "event_header", "classic", "instance", "system" } do
      local ev = etw.decode_blobs(m, d, nil, { header_kind = kind, kernel_time = 1, user_time = 2 })
      assert.are.equal(1, ev.kernel_time, kind)
      assert.are.equal(2, ev.user_time, kind)
    end
    for _, kind in ipairs { "compact", "perfinfo", "wpp", 0 } do
      local ev = etw.decode_blobs(m, d, nil, { header_kind = kind, kernel_time = 1, user_time = 2 })
      assert.is_nil(ev.kernel_time)
      assert.is_nil(ev.user_time)
      assert.is_nil(cjson.decode(ev:json()).kernel_time)
    end
  end)
end)

describe("extended data items", function()
  local m, d = blobs("E", function(eb) eb:add_int32("a", 1) end)
  local kernel = math.tointeger(0xfffff80000001234 - (1 << 63) - (1 << 63)) -- same 64 bits
  local s64 = pack("<I8", 0x1122) .. pack("<i8i8i8", 0x7ff600001000, kernel, 0x10)
  local sid = "\1\1\0\0\0\0\0\5" .. pack("<I4", 18)

  local function ev_with(items, header)
    header = header or {}
    header.ext = items
    return etw.decode_blobs(m, d, nil, header)
  end

  it("are nil when the event has none", function()
    local ev = etw.decode_blobs(m, d)
    for _, k in ipairs { "stack", "stack_match_id", "sid", "session_id", "process_start_key",
                         "event_key", "ext", "header_kind", "kernel_time", "user_time" } do
      assert.is_nil(ev[k], k)
    end
    local j = cjson.decode(ev:json())
    assert.is_nil(j.stack)
    assert.is_nil(j.ext)
  end)

  it("give ev.stack and ev.stack_match_id from STACK_TRACE64", function()
    local ev = ev_with { { type = 6, data = s64 } }
    assert.are.same({ 0x7ff600001000, kernel, 0x10 }, ev.stack)
    assert.are.equal(ev.stack, ev.stack)
    assert.are.equal(0x1122, ev.stack_match_id)
    local j = cjson.decode(ev:json())
    assert.are.same({ "0x7ff600001000", "0xfffff80000001234", "0x10" }, j.stack)
    assert.are.equal(0x1122, j.stack_match_id)
    assert.is_nil(j.ext) -- shown as "stack", not again as raw bytes
  end)

  it("give ev.stack from STACK_TRACE32, ignoring a partial address", function()
    local ev = ev_with { { type = 5, data = pack("<I8I4I4", 7, 0x401000, 0xfffe0000) .. "\1\2" } }
    assert.are.same({ 0x401000, 0xfffe0000 }, ev.stack)
    assert.are.equal(7, ev.stack_match_id)
    assert.are.same({}, ev_with({ { type = 5, data = pack("<I8", 9) } }).stack)
    assert.is_nil(ev_with({ { type = 6, data = "short" } }).stack)
    assert.is_nil(ev_with({ { type = 6, data = "short" } }).stack_match_id)
    assert.matches('"stack":[]', ev_with({ { type = 5, data = pack("<I8", 9) } }):json(), 1, true)
  end)

  it("give ev.sid, ev.session_id, ev.process_start_key and ev.event_key", function()
    local ev = ev_with {
      { type = 2, data = sid }, { type = 3, data = pack("<I4", 2) },
      { type = 13, data = pack("<I8", 0x0100000000000123) }, { type = 10, data = pack("<I8", 77) } }
    assert.are.equal("S-1-5-18", ev.sid)
    assert.are.equal(2, ev.session_id)
    assert.are.equal(0x0100000000000123, ev.process_start_key)
    assert.are.equal(77, ev.event_key)
    local j = cjson.decode(ev:json())
    assert.are.equal("S-1-5-18", j.sid)
    assert.are.equal(2, j.session_id)
    assert.are.equal("72057594037928227", j.process_start_key) -- beyond 2^53: a string
    assert.are.equal(77, j.event_key)
    assert.is_nil(j.ext)
  end)

  it("are nil when an item is too short for its type", function()
    local ev = ev_with {
      { type = 2, data = "\1\2\0\0\0\0\0\5" .. pack("<I4", 18) }, -- says 2 sub-authorities, has 1
      { type = 3, data = "\1" }, { type = 13, data = "1234567" }, { type = 10, data = "" } }
    assert.is_nil(ev.sid)
    assert.is_nil(ev.session_id)
    assert.is_nil(ev.process_start_key)
    assert.is_nil(ev.event_key)
    assert.are.equal(4, #ev.ext)
  end)

  it("are all in ev.ext, in order, with names", function()
    local ev = ev_with { { type = 6, data = s64 }, { type = 15, data = "\1\2" },
                         { type = 99, data = "" }, { type = 2, data = sid } }
    assert.are.same({
      { type = 6, name = "stack_trace64", data = s64 },
      { type = 15, name = "qpc_delta", data = "\1\2" },
      { type = 99, name = "unknown", data = "" },
      { type = 2, name = "sid", data = sid },
    }, ev.ext)
    assert.are.equal(ev.ext, ev.ext)
    local j = cjson.decode(ev:json())
    assert.are.same({ { type = 15, name = "qpc_delta", data = "0102" },
                      { type = 99, name = "unknown", data = "" } }, j.ext)
    local names = {}
    for t = 1, 18 do names[t] = ev_with({ { type = t, data = "" } }).ext[1].name end
    assert.are.same({ "related_activity_id", "sid", "ts_id", "instance_info", "stack_trace32",
      "stack_trace64", "pebs_index", "pmc_counters", "psm_key", "event_key", "event_schema_tl",
      "prov_traits", "process_start_key", "control_guid", "qpc_delta", "container_id",
      "stack_key32", "stack_key64" }, names)
  end)

  it("show the first item of each type with enough bytes under its key in ev:json(), the rest in ext", function()
    local function hex(s) return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) end
    local bad_sid = "\1\2\0\0\0\0\0\5" .. pack("<I4", 18) -- says 2 sub-authorities, has 1
    local items = {
      { type = 3, data = "\1" }, { type = 3, data = pack("<I4", 5) }, { type = 3, data = pack("<I4", 6) },
      { type = 2, data = bad_sid }, { type = 2, data = sid },
      { type = 10, data = "1234567" }, { type = 10, data = pack("<I8", 77) },
      { type = 6, data = "short" }, { type = 5, data = pack("<I8", 9) }, { type = 6, data = s64 },
      { type = 13, data = pack("<I8", 3) }, { type = 13, data = pack("<I8", 4) },
      { type = 11, data = "x" }, { type = 12, data = "y" } }
    local j = cjson.decode(ev_with(items):json())
    assert.are.equal(5, j.session_id)
    assert.is_nil(j.sid) -- the first SID is not whole: none is shown
    assert.are.equal(77, j.event_key)
    assert.are.equal(9, j.stack_match_id)
    assert.are.same({}, j.stack)
    assert.are.equal(3, j.process_start_key)
    local function item(t, data) return { type = t, name = ev_with({ { type = t, data = "" } }).ext[1].name, data = hex(data) } end
    assert.are.same({ item(3, "\1"), item(3, pack("<I4", 6)), item(2, bad_sid), item(2, sid),
                      item(10, "1234567"), item(6, "short"), item(6, s64), item(13, pack("<I8", 4)) }, j.ext)
    -- the same with the whole SID first: shown, the other listed
    j = cjson.decode(ev_with({ { type = 2, data = sid }, { type = 2, data = bad_sid } }):json())
    assert.are.equal("S-1-5-18", j.sid)
    assert.are.same({ item(2, bad_sid) }, j.ext)
    -- two whole items of one type, and nothing else: the second is listed
    for _, two in ipairs { { 3, pack("<I4", 1) }, { 13, pack("<I8", 1) }, { 10, pack("<I8", 1) },
                           { 6, s64 }, { 5, pack("<I8", 1) }, { 2, sid } } do
      j = cjson.decode(ev_with({ { type = two[1], data = two[2] }, { type = two[1], data = two[2] } }):json())
      assert.are.same({ item(two[1], two[2]) }, j.ext)
    end
  end)

  it("are copied into the event", function()
    local ev = ev_with { { type = 6, data = table.concat { s64 } },
                         { type = 2, data = table.concat { sid } } }
    collectgarbage()
    collectgarbage()
    assert.are.equal(0x10, ev.stack[3])
    assert.are.equal("S-1-5-18", ev.sid)
    assert.are.equal(1, ev.fields.a)
  end)

  it("are checked by etw.decode_blobs", function()
    assert.has_error(function() ev_with(5) end,
      "decode_blobs: header.ext must be a list of {type=, data=}")
    assert.has_error(function() ev_with { 5 } end,
      "decode_blobs: header.ext[1] must be a table {type=, data=}")
    assert.has_error(function() ev_with { { type = 65536, data = "" } } end,
      "decode_blobs: header.ext[1].type must be an integer in range")
    assert.has_error(function() ev_with { { type = 1 } } end,
      "decode_blobs: header.ext[1].data must be a string of at most 65535 bytes")
    assert.has_error(function() ev_with { { type = 1, data = ("x"):rep(65536) } } end,
      "decode_blobs: header.ext[1].data must be a string of at most 65535 bytes")
  end)
end)

describe("events from ETL files", function()
  local dir = util.shared_dir()
  local function consume(file, handler)
    local c, err = etw.Consumer { files = { dir .. "/etl-samples/" .. file } }
    if not c then return nil, err end
    c:on(handler)
    c:run()
    return true
  end
  if not dir then
    pending("ETWLUA_SHARED is not set: ETL samples not available")
    return
  end

  it("have stacks and related activity ids (net.4.5.2.x64.etl)", function()
    local stacks, kinds, first = 0, {}, nil
    assert(consume("perfview/net.4.5.2.x64.etl", function(ev)
      kinds[ev.header_kind] = (kinds[ev.header_kind] or 0) + 1
      if ev.stack then
        stacks = stacks + 1
        first = first or ev
        assert(#ev.stack > 0 and ev.stack_match_id and ev.ext)
      end
      if ev.header_kind ~= "event_header" then
        -- kernel records: decoded by the built-in MOF table, or name nil and the payload kept
        assert(ev.payload and ev.decode_error == nil)
        assert(ev.name ~= nil or #ev.fields == 0)
      end
    end))
    assert.are.equal(655, stacks)
    assert.truthy(kinds.event_header and kinds.perfinfo and kinds.system and kinds.classic)
    assert.matches('"stack":["0x', first:json(), 1, true)
  end)

  it("decode TraceLogging fields whose metadata came in an ext item (AMSITrace.etl)", function()
    local n = 0
    assert(consume("airbus-etl-parser/AMSITrace.etl", function(ev)
      if ev.header_kind ~= "event_header" then return end -- the trace's own header records
      n = n + 1
      assert.are.equal("AmsiScript", ev.name)
      assert.is_nil(ev.decode_error)
      assert.truthy(#ev.fields > 0)
      assert.are.equal("event_header", ev.header_kind)
      local types = {}
      for _, x in ipairs(ev.ext) do types[#types + 1] = x.type end
      assert.are.same({ 12, 11 }, types)
    end))
    assert.are.equal(19, n)
  end)
end)
