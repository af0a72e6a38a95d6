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
end)
