-- Manifest / MOF events decoded with a TDH schema (TRACE_EVENT_INFO bytes,
-- as TdhGetEventInformation returns them on Windows): etw.decode_blobs with
-- header.tdh_info builds the same Event the Windows consumer hands out.
local etw = require "etw"

local tdh = require "tdh_schema"
local utf16, tei, IN, PF = tdh.utf16, tdh.tei, tdh.IN, tdh.PF

local schema = tei {
  provider = "Microsoft-Windows-Kernel-Process", task = "ProcessStart", event = "ProcessStart",
  top = 9,
  props = {
    { name = "ProcessID", intype = IN.uint32 },                         -- 0
    { name = "CreateTime", intype = IN.filetime },                      -- 1
    { name = "ImageName", intype = IN.unicodestring },                  -- 2
    { name = "Flag", intype = IN.bool },                                -- 3
    { name = "Count", intype = IN.uint16 },                             -- 4
    { name = "Items", intype = IN.uint32, flags = PF.param_count, count = 4 },  -- 5
    { name = "Pairs", flags = PF.struct | PF.fixed_count, start = 9, members = 2, count = 2 },  -- 6
    { name = "Address", intype = IN.pointer },                          -- 7
    { name = "Status", intype = IN.hexint32, outtype = 30 },            -- 8 (WIN32ERROR)
    { name = "Key", intype = IN.uint8 },                                -- 9: Pairs member
    { name = "Value", intype = IN.ansistring },                         -- 10: Pairs member
  },
}

local payload = string.pack("<I4 i8", 4321, 132000000000000000) .. utf16("C:\\cmd.exe")
  .. string.pack("<I4 I2 I4I4I4", 1, 3, 10, 20, 30)
  .. "\1one\0" .. "\2two\0"
  .. string.pack("<I8 I4", 0x7ff612340000, 5)

local function event(data, extra)
  local h = { provider_id = "22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716", id = 1, version = 3,
              level = 4, opcode = 1, tdh_info = schema, pointer_size = 8 }
  for k, v in pairs(extra or {}) do h[k] = v end
  return etw.decode_blobs(nil, data, nil, h)
end

describe("TDH-decoded events", function()
  it("name the event and provider from the schema", function()
    local ev = event(payload)
    assert.equal("ProcessStart", ev.name)
    assert.equal("Microsoft-Windows-Kernel-Process", ev.provider)
    assert.is_nil(ev.decode_error)
  end)

  it("decode every field family in order, arrays and structs included", function()
    local f = event(payload).fields
    assert.equal(4321, f.ProcessID)
    assert.equal(132000000000000000, f.CreateTime)
    assert.equal("C:\\cmd.exe", f.ImageName)
    assert.equal(true, f.Flag)
    assert.equal(3, f.Count)
    assert.same({ 10, 20, 30 }, f.Items)
    assert.equal(2, #f.Pairs)
    assert.equal(1, f.Pairs[1].Key)
    assert.equal("one", f.Pairs[1].Value)
    assert.equal("two", f.Pairs[2].Value)
    assert.equal(0x7ff612340000, f.Address)
    assert.equal(5, f.Status)
    assert.equal(9, #f)
    local names = {}
    for k in pairs(f) do names[#names + 1] = k end
    assert.same({ "ProcessID", "CreateTime", "ImageName", "Flag", "Count", "Items", "Pairs",
                  "Address", "Status" }, names)
  end)

  it("take pointer fields at the producer's width", function()
    local p32 = payload:sub(1, #payload - 12) .. string.pack("<I4 I4", 0x12345678, 7)
    local f = event(p32, { pointer_size = 4 }).fields
    assert.equal(0x12345678, f.Address)
    assert.equal(7, f.Status)
  end)

  it("write JSON and text with the fields", function()
    local ev = event(payload)
    local j = require("cjson").decode(ev:json())
    assert.equal("ProcessStart", j.name)
    assert.equal("Microsoft-Windows-Kernel-Process", j.provider)
    assert.equal(4321, j.fields.ProcessID)
    assert.equal("C:\\cmd.exe", j.fields.ImageName)
    assert.same({ 10, 20, 30 }, j.fields.Items)
    assert.equal("two", j.fields.Pairs[2].Value)
    local s = tostring(ev)
    assert.matches("^Microsoft%-Windows%-Kernel%-Process/ProcessStart%(level=4", s)
    assert.matches('ImageName="C:\\\\cmd.exe"', s, 1, false)
    assert.matches("Items=%[10,20,30%]", s)
  end)

  -- ev.fields starts lazy; # builds the whole table into that same table
  -- (first event: the slow walk that records the shape; later ones: the
  -- shape's fast walk), also after a short payload of the same schema
  it("build the lazy fields table in place, first and later events alike", function()
    local function names(f)
      local out = {}
      for k in pairs(f) do out[#out + 1] = k end
      return out
    end
    local all = { "ProcessID", "CreateTime", "ImageName", "Flag", "Count", "Items", "Pairs",
                  "Address", "Status" }
    for _, data in ipairs({ payload, payload, payload:sub(1, 10), payload }) do
      local ev = event(data)
      local f = ev.fields
      local n = #f
      assert.is_true(rawequal(f, ev.fields))
      assert.equal(4321, rawget(f, "ProcessID"))
      if #data == 10 then
        assert.equal(1, n)
        assert.same({ "ProcessID" }, names(f))
      else
        assert.equal(9, n)
        assert.same(all, names(f))
        assert.equal(30, rawget(f, "Items")[3])
        assert.equal("two", f.Pairs[2].Value)
      end
    end
  end)

  it("keep the fields before a short payload and say where it ended", function()
    local ev = event(payload:sub(1, 10))
    assert.equal(4321, ev.fields.ProcessID)
    assert.is_nil(ev.fields.CreateTime)
    assert.matches('^TDH_E_SHORT: the payload does not hold property 2 %("CreateTime"%)', ev.decode_error)
    local j = require("cjson").decode(ev:json())
    assert.equal(4321, j.fields.ProcessID)
    assert.matches("^TDH_E_SHORT", j.decode_error)
  end)

  it("run an unterminated string to the end of the payload", function()
    local ev = event(payload:sub(1, 16))
    assert.equal("C:", ev.fields.ImageName)
    assert.matches('property 4 %("Flag"%)', ev.decode_error)
  end)

  it("report a malformed schema and keep the raw payload", function()
    local bad = schema:sub(1, 100) .. string.pack("<I4", 5000) .. schema:sub(105)
    local ev = event(payload, { tdh_info = bad })
    assert.same({}, ev.fields)
    assert.matches("^TDH_E_SCHEMA", ev.decode_error)
    assert.equal(payload, ev.payload)
  end)

  it("name MOF events Task/Opcode", function()
    local mof = tei { source = 1, task = "Process", opcode = "Start", props = {} }
    local ev = etw.decode_blobs(nil, "", nil, { tdh_info = mof })
    assert.equal("Process/Start", ev.name)
  end)

  it("check the new header fields", function()
    assert.has_error(function() etw.decode_blobs(nil, "", nil, { tdh_info = 5 }) end,
      "decode_blobs: header field 'tdh_info' must be a string (TRACE_EVENT_INFO bytes)")
    assert.has_error(function() etw.decode_blobs(nil, "", nil, { pointer_size = 6 }) end)
  end)

  it("survive random schemas and payloads", function()
    math.randomseed(7)
    for _ = 1, 300 do
      local n = math.random(0, 400)
      local t = {}
      for i = 1, n do t[i] = string.char(math.random(0, 255)) end
      local blob = table.concat(t)
      -- a plausible head so the walker gets past the size checks now and then
      if n > 112 and math.random() < 0.5 then
        blob = blob:sub(1, 100) .. string.pack("<I4I4", 3, 2) .. blob:sub(109)
      end
      local ev = event(blob:sub(1, math.random(0, #blob)), { tdh_info = blob })
      local _ = ev.fields, ev.name, ev.decode_error, ev:json(), tostring(ev)
    end
  end)

  -- A flat schema (scalars, arrays of fixed-size items counted by an
  -- earlier field) is read by its plan from the second event on; what an
  -- event holds must not depend on whether the plan or the walk read it.
  it("read flat schemas by their plan exactly as the walk does", function()
    local flat = tei {
      provider = "Test-Flat", event = "Frames", top = 6,
      props = {
        { name = "FrameCount", intype = IN.uint16 },                                    -- 0
        { name = "Name", intype = IN.unicodestring },                                   -- 1
        { name = "Stack", intype = IN.pointer, flags = PF.param_count, count = 0 },     -- 2
        { name = "Tag", intype = IN.ansistring },                                       -- 3
        { name = "Pair", intype = IN.uint8, flags = PF.fixed_count, count = 2 },        -- 4
        { name = "Id", intype = IN.guid },                                              -- 5
      },
    }
    local guid = string.rep("\x11", 16)
    local function data(frames, psize)
      local p = string.pack("<I2", #frames) .. utf16("w")
      for _, a in ipairs(frames) do p = p .. string.pack(psize == 4 and "<I4" or "<I8", a) end
      return p .. "tag\0" .. "\7\8" .. guid
    end
    local function fields(d, psize)
      local ev = event(d, { tdh_info = flat, pointer_size = psize or 8 })
      local f, out = ev.fields, {}
      for k, v in pairs(f) do out[#out + 1] = { k, v } end
      return out, #f, ev.decode_error
    end
    local want = { { "FrameCount", 3 }, { "Name", "w" }, { "Stack", { 0x10, 0x20, 0x7ff612340000 } },
                   { "Tag", "tag" }, { "Pair", { 7, 8 } }, { "Id", "11111111-1111-1111-1111-111111111111" } }
    for _ = 1, 3 do                                   -- the first walks, the others use the plan
      local got, n, err = fields(data({ 0x10, 0x20, 0x7ff612340000 }))
      assert.same(want, got)
      assert.equal(6, n)
      assert.is_nil(err)
    end
    local got = fields(data({ 5, 6 }, 4), 4)          -- the event's own pointer size
    assert.same({ 5, 6 }, got[3][2])
    got = fields(data({}))                            -- an empty array
    assert.same({ "Stack", {} }, got[3])
    -- a count beyond the payload: the walk's items, then where it ended
    local short = data({ 1, 2 }):sub(1, 2 + 4 + 8 + 4)
    local g, n, err = fields(short)
    assert.same({ { "FrameCount", 2 }, { "Name", "w" }, { "Stack", { 1 } } }, g)
    assert.equal(3, n)
    assert.matches('^TDH_E_SHORT: the payload does not hold property 3 %("Stack"%)', err)
    -- the payload ends in a fixed-size field; strings run to the end of the payload
    g, n, err = fields(data({ 1 }):sub(1, -2))
    assert.equal(5, n)
    assert.matches('property 6 %("Id"%)', err)
    g, n, err = fields(string.pack("<I2", 0) .. utf16("w"):sub(1, 3))
    assert.same({ { "FrameCount", 0 }, { "Name", "w" }, { "Stack", {} }, { "Tag", "" }, { "Pair", {} } }, g)
    assert.matches('property 5 %("Pair"%)', err)
    g, n, err = fields("")
    assert.same({}, g)
    assert.matches('property 1 %("FrameCount"%)', err)
  end)

  -- Every element of an array of structs names its members with one shared
  -- metatable (made by the first element walked whole); an element that
  -- ends early has its own, with the names of what it holds.
  it("share one names metatable among the elements of a struct array", function()
    local f = event(payload).fields
    assert.is_true(rawequal(getmetatable(f.Pairs[1]), getmetatable(f.Pairs[2])))
    assert.is_true(rawequal(getmetatable(f.Pairs[1]), getmetatable(event(payload).fields.Pairs[2])))
    local cut = #payload - 12 - 2                     -- inside the second element's Value
    local g = event(payload:sub(1, cut)).fields
    local names = {}
    for k, v in pairs(g.Pairs[2]) do names[#names + 1] = k .. "=" .. tostring(v) end
    assert.same({ "Key=2", "Value=tw" }, names)       -- runs to the end of the payload
    names = {}
    for k in pairs(g.Pairs[1]) do names[#names + 1] = k end
    assert.same({ "Key", "Value" }, names)
    cut = #payload - 12 - 5                           -- the second element's Key is missing
    g = event(payload:sub(1, cut)).fields
    assert.equal(2, #g.Pairs)
    assert.is_nil(next(g.Pairs[2]))
    local mt = getmetatable(g.Pairs[2])
    assert.is_false(rawequal(mt, getmetatable(g.Pairs[1])))
    assert.is_nil(mt[1])
    assert.equal(1, mt[0])                            -- no name (count * 2 + 1, as ever)
    assert.equal("one", g.Pairs[1].Value)
  end)

  -- UTF-16 values become UTF-8: short ASCII ones take a shortcut, all
  -- others (longer, non-ASCII, surrogate pairs, a lone surrogate) the
  -- formatter; the result must not tell which
  it("turn UTF-16 strings into UTF-8, ASCII or not, short or long", function()
    local one = tei { provider = "Test-Str", event = "S", top = 1,
                      props = { { name = "S", intype = IN.unicodestring } } }
    local function s16(units)
      local t = {}
      for i, u in ipairs(units) do t[i] = string.pack("<I2", u) end
      return table.concat(t) .. "\0\0"
    end
    local function value(data)
      return event(data, { tdh_info = one }).fields.S
    end
    local a128, a129 = string.rep("x", 127) .. "\127", string.rep("y", 129)
    for _ = 1, 2 do                                   -- walked, then planned
      assert.equal("", value(s16({})))
      assert.equal("A", value(s16({ 0x41 })))
      assert.equal(a128, value(utf16(a128)))
      assert.equal(a129, value(utf16(a129)))
      assert.equal("h\u{e9}llo", value(s16({ 0x68, 0xe9, 0x6c, 0x6c, 0x6f })))
      assert.equal("a\u{20ac}", value(s16({ 0x61, 0x20ac })))
      assert.equal("\u{1f600}!", value(s16({ 0xd83d, 0xde00, 0x21 })))
      assert.equal("\u{fffd}z", value(s16({ 0xd83d, 0x7a })))
      assert.equal("\1\31", value(s16({ 1, 31 })))
    end
  end)
end)
