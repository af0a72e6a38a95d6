-- etwlua.format: the text, JSON Lines and CSV writers, line by line, with
-- exact 64-bit values and absent pid/tid (PERFINFO records); ev:json("fields").
local etw = require "etw"
local format = require "etwlua.format"

local p = etw.Provider("Spec.Format")

-- An event with a session-like header (pid, tid, cpu, time) through decode_blobs.
local function event(header, build)
  local eb = etw.EventBuilder()
  eb:reset("Sizes", { level = 4 })
  build(eb)
  local _, meta, data = eb:bytes()
  local h = { pid = 4242, tid = 17, cpu = 3, timestamp = 132000000001234567, level = 4, id = 7,
              opcode = 1 }
  for k, v in pairs(header or {}) do h[k] = v end
  return etw.decode_blobs(meta, data, p.traits, h)
end

local function fields(eb)
  eb:add_uint64("Max", -1):add_int64("Min", math.mininteger):add_str8("Note", 'a "b", c')
end

local sink = require("testutil").sink

describe("etwlua.format", function()
  local ev = event(nil, fields)
  local perf = event({ header_kind = "perfinfo", pid = 0xFFFFFFFF, tid = 0xFFFFFFFF }, fields)

  it("text: ISO time, pid/tid, then tostring(ev)", function()
    local out = sink()
    format.text(out)(ev)
    assert.are.equal('2019-04-17T18:40:00.1234567Z 4242/17 Spec.Format/Sizes(level=4 keyword=0x0) '
      .. 'Max=18446744073709551615 Min=-9223372036854775808 Note="a \\"b\\", c"\n', out.text())
  end)

  it("text: '-' for the pid/tid a PERFINFO record does not carry, and for no time", function()
    local out = sink()
    local w = format.text(out)
    w(perf)
    local eb = etw.EventBuilder()
    eb:reset("Bare")
    w(eb:decode(p))
    assert.are.equal('2019-04-17T18:40:00.1234567Z -/- Spec.Format/Sizes(level=4 keyword=0x0) '
      .. 'Max=18446744073709551615 Min=-9223372036854775808 Note="a \\"b\\", c"\n'
      .. '- -/- Spec.Format/Bare(level=5 keyword=0x1)\n', out.text())
  end)

  it("json: ev:json() per line; pid/tid null without them", function()
    local out = sink()
    local w = format.json(out)
    w(ev)
    w(perf)
    local lines = {}
    for l in out.text():gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal(2, #lines)
    assert.are.equal(ev:json(), lines[1])
    assert.matches('"pid":4242,"tid":17,"cpu":3,', lines[1], 1, true)
    assert.matches('"pid":null,"tid":null,"cpu":3,', lines[2], 1, true)
    assert.matches('"fields":{"Max":"18446744073709551615","Min":"-9223372036854775808",', lines[1], 1, true)
  end)

  it("csv: header line, then exact values; empty cells for what is absent", function()
    local out = sink()
    local w = format.csv(out)
    assert.are.equal("timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields\n", out.text())
    w(ev)
    w(perf)
    assert.are.equal("timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields\n"
      .. '2019-04-17T18:40:00.1234567Z,Spec.Format,Sizes,7,4,1,4242,17,3,'
      .. '"{""Max"":""18446744073709551615"",""Min"":""-9223372036854775808"",""Note"":""a \\""b\\"", c""}"\n'
      .. '2019-04-17T18:40:00.1234567Z,Spec.Format,Sizes,7,4,1,,,3,'
      .. '"{""Max"":""18446744073709551615"",""Min"":""-9223372036854775808"",""Note"":""a \\""b\\"", c""}"\n',
      out.text())
  end)

  it("csv: no header with {header = false}; a provider without a name shows its GUID", function()
    local out = sink()
    local w = format.csv(out, { header = false })
    local eb = etw.EventBuilder()
    eb:reset("X"):add_int32("n", 1)
    local _, meta, data = eb:bytes()
    w(etw.decode_blobs(meta, data, nil, { provider_id = "00000000-0000-0000-0000-000000000001" }))
    -- no session header: no time, pid, tid or cpu
    assert.are.equal(',00000000-0000-0000-0000-000000000001,X,0,0,0,,,,"{""n"":1}"\n',
      out.text())
  end)

  it("new(name, out) picks a writer; an unknown name is nil, message", function()
    local out = sink()
    assert.is_function(format.new("json", out))
    local w, err = format.new("xml", out)
    assert.is_nil(w)
    assert.are.equal("unknown format 'xml' (text, json, csv)", err)
  end)

  it("writes to real files", function()
    local path = os.tmpname()
    if package.config:sub(1, 1) == "\\" then       -- Windows: os.tmpname is a name in the root
      path = string.format("%s\\etwlua-format-%d.csv", os.getenv("TEMP") or ".", etw.pid())
    end
    local f = assert(io.open(path, "w"))
    format.csv(f)(ev)
    f:close()
    f = assert(io.open(path, "r"))
    local header, row = f:read("l"), f:read("l")
    f:close()
    os.remove(path)
    assert.are.equal("timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields", header)
    local want = "2019-04-17T18:40:00.1234567Z,Spec.Format,Sizes,7,4,1,4242,17,3,"
    assert.are.equal(want, row:sub(1, #want))
  end)

  it("raises on something that is not a file handle", function()
    local ok, err = pcall(format.text, 42)
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'text' %(file handle or table with a write method expected, got number%)", err)
  end)

  it("csv_cell quotes only when needed", function()
    assert.are.equal("plain", format.csv_cell("plain"))
    assert.are.equal('"a,b"', format.csv_cell("a,b"))
    assert.are.equal('"say ""hi"""', format.csv_cell('say "hi"'))
    assert.are.equal('"two\nlines"', format.csv_cell("two\nlines"))
    assert.are.equal("", format.csv_cell(nil))
  end)
end)

describe("ev:json('fields') and absent pid/tid", function()
  it("is the fields object of ev:json(), exact", function()
    local ev = event(nil, fields)
    local whole = ev:json()
    local f = ev:json("fields")
    assert.are.equal('{"Max":"18446744073709551615","Min":"-9223372036854775808","Note":"a \\"b\\", c"}', f)
    assert.truthy(whole:find('"fields":' .. f, 1, true))
    assert.are.equal(whole, ev:json("event"))
    local ok, err = pcall(ev.json, ev, "header")
    assert.is_false(ok)
    assert.matches("invalid option 'header'", err)
  end)

  it("ev.pid / ev.tid are nil for a PERFINFO record; a live-style header keeps them", function()
    local perf = event({ header_kind = "perfinfo", pid = 0xFFFFFFFF, tid = 0xFFFFFFFF }, fields)
    assert.is_nil(perf.pid)
    assert.is_nil(perf.tid)
    assert.are.equal(3, perf.cpu)
    -- 0xFFFFFFFF is only "absent" for records that came with an ETL header
    local plain = event({ pid = 0xFFFFFFFF, tid = 1 }, fields)
    assert.are.equal(0xFFFFFFFF, plain.pid)
    assert.are.equal(1, plain.tid)
  end)
end)
