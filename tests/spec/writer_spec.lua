-- etw.EventWriter: the lines of `etwlua dump` written from C. The expected
-- lines are written out by hand (the same as format_spec's for the Lua
-- writers); over real files, every line is compared with what the Lua
-- writers of etwlua.format make of the same events.
local etw = require "etw"
local format = require "etwlua.format"
local tu = require "testutil"

local p = etw.Provider("Spec.Format")

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
    :add_float64("Whole", -12.0):add_float64("Frac", 0.1):add_float32("F", 1e6)
end

local windows = package.config:sub(1, 1) == "\\"

-- A fresh scratch file name, removed when the test ends.
local function temp_path() return tu.temp_path(finally, "writer") end

-- What w wrote to a scratch file when run(w) was done with it.
local function written(fmt, opts, run)
  local path = temp_path()
  local f = assert(io.open(path, "wb"))
  local w = etw.EventWriter(fmt, f, opts)
  run(w)
  f:close()
  return tu.read_file(path), w
end

local FIELDS_TEXT = 'Max=18446744073709551615 Min=-9223372036854775808 Note="a \\"b\\", c" '
  .. "Whole=-12 Frac=0.1 F=1e+06"
local FIELDS_JSON = '{"Max":"18446744073709551615","Min":"-9223372036854775808",'
  .. '"Note":"a \\"b\\", c","Whole":-12,"Frac":0.1,"F":1e+06}'

describe("etw.EventWriter", function()
  local ev = event(nil, fields)
  local perf = event({ header_kind = "perfinfo", pid = 0xFFFFFFFF, tid = 0xFFFFFFFF }, fields)

  it("text: ISO time, pid/tid ('-' when absent), then tostring(ev)", function()
    local out = written("text", nil, function(w) w(ev); w(perf) end)
    assert.are.equal('2019-04-17T18:40:00.1234567Z 4242/17 Spec.Format/Sizes(level=4 keyword=0x0) '
      .. FIELDS_TEXT .. '\n2019-04-17T18:40:00.1234567Z -/- Spec.Format/Sizes(level=4 keyword=0x0) '
      .. FIELDS_TEXT .. '\n', out)
  end)

  it("text: no time, no fields", function()
    local eb = etw.EventBuilder()
    eb:reset("Bare")
    local out = written("text", nil, function(w) w(eb:decode(p)) end)
    assert.are.equal("- -/- Spec.Format/Bare(level=5 keyword=0x1)\n", out)
  end)

  it("json: ev:json() per line", function()
    local out = written("json", nil, function(w) w(ev); w(perf) end)
    assert.are.equal('{"provider":"Spec.Format","provider_id":"' .. p.id .. '","name":"Sizes",'
      .. '"id":7,"version":0,"channel":0,"level":4,"opcode":1,"task":0,"keyword":0,"tags":0,'
      .. '"pid":4242,"tid":17,"cpu":3,"timestamp":"2019-04-17T18:40:00.1234567Z","fields":'
      .. FIELDS_JSON .. '}\n', out:match("^[^\n]*\n"))
    assert.matches('"pid":null,"tid":null,"cpu":3,', out:match("\n(.*)"), 1, true)
  end)

  it("csv: header, exact values, quoted cells, empty cells for what is absent", function()
    local out = written("csv", nil, function(w) w(ev); w(perf) end)
    local f = '"' .. FIELDS_JSON:gsub('"', '""') .. '"'
    assert.are.equal("timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields\n"
      .. "2019-04-17T18:40:00.1234567Z,Spec.Format,Sizes,7,4,1,4242,17,3," .. f .. "\n"
      .. "2019-04-17T18:40:00.1234567Z,Spec.Format,Sizes,7,4,1,,,3," .. f .. "\n", out)
  end)

  -- The writer keeps the date of the last second it wrote: the same second,
  -- the one before, the next day, and back; the first and last 100 ns of a
  -- second and the first of the next.
  it("timestamps: a run of seconds and days", function()
    local t0 = 132000000001234567
    local s0 = t0 - 1234567 -- 18:40:00 exactly
    local times = { t0, t0 + 1, t0 - 10000000, t0 + 864000000000, t0,
                    s0 + 9999999, s0 + 10000000, s0 + 9999999, s0, s0 - 1, s0 + 7654321 }
    local want = { "2019-04-17T18:40:00.1234567Z", "2019-04-17T18:40:00.1234568Z",
                   "2019-04-17T18:39:59.1234567Z", "2019-04-18T18:40:00.1234567Z",
                   "2019-04-17T18:40:00.1234567Z", "2019-04-17T18:40:00.9999999Z",
                   "2019-04-17T18:40:01.0000000Z", "2019-04-17T18:40:00.9999999Z",
                   "2019-04-17T18:40:00.0000000Z", "2019-04-17T18:39:59.9999999Z",
                   "2019-04-17T18:40:00.7654321Z" }
    for _, fmt in ipairs({ "text", "json", "csv" }) do
      local out = written(fmt, { header = false }, function(w)
        for _, t in ipairs(times) do w(event({ timestamp = t }, fields)) end
      end)
      local got = {}
      for line in out:gmatch("[^\n]+") do
        got[#got + 1] = fmt == "json" and line:match('"timestamp":"([^"]*)"') or line:match("^[^ ,]+")
      end
      assert.are.same(want, got, fmt)
    end
  end)

  -- Lines longer than the writer's 16 KB buffer, with escapes and quotes
  -- throughout (the buffer fills mid-string and mid-cell).
  it("lines over 16 KB: text, json and csv", function()
    local big = ('ab",\n'):rep(8000)
    local e = event(nil, function(eb) eb:add_str8("Big", big):add_int32("n", 1) end)
    local esc = ('ab\\",\\n'):rep(8000)
    local json_fields = '{"Big":"' .. esc .. '","n":1}'
    local text = written("text", nil, function(w) w(e) end)
    assert.are.equal('2019-04-17T18:40:00.1234567Z 4242/17 Spec.Format/Sizes(level=4 keyword=0x0) '
      .. 'Big="' .. esc .. '" n=1\n', text)
    local json = written("json", nil, function(w) w(e) end)
    assert.are.equal(',"fields":' .. json_fields .. '}\n', json:sub(-(#json_fields + 12)))
    local csv = written("csv", { header = false }, function(w) w(e) end)
    assert.are.equal('2019-04-17T18:40:00.1234567Z,Spec.Format,Sizes,7,4,1,4242,17,3,"'
      .. json_fields:gsub('"', '""') .. '"\n', csv)
  end)

  -- Cells are copied 8 bytes at a time up to each quote: names of each
  -- length up to 24, with a comma, quote, CR or LF at each place (or none).
  it("csv: cells of every length to 24 with a comma, quote, CR or LF at each place", function()
    local function cell(s)
      if not s:find('[,"\r\n]') then return s end
      return '"' .. s:gsub('"', '""') .. '"'
    end
    local function named(name)
      local eb = etw.EventBuilder()
      eb:reset(name, { level = 4 }):add_int32("n", 1)
      local _, meta, data = eb:bytes()
      return etw.decode_blobs(meta, data, p.traits, { pid = 4242, tid = 17, cpu = 3,
        timestamp = 132000000001234567, level = 4, id = 7, opcode = 1 })
    end
    local names, want = {}, {}
    for len = 1, 24 do
      for pos = 0, len do
        for _, c in ipairs { ",", '"', "\r", "\n", '""' } do
          local name = ("abcdefghijklmnopqrstuvwx"):sub(1, len)
          if pos > 0 then name = name:sub(1, pos - 1) .. c .. name:sub(pos + 1) end
          names[#names + 1] = name
          want[#want + 1] = "2019-04-17T18:40:00.1234567Z,Spec.Format," .. cell(name)
            .. ',7,4,1,4242,17,3,"{""n"":1}"\n'
        end
      end
    end
    local out = written("csv", { header = false }, function(w)
      for _, name in ipairs(names) do w(named(name)) end
    end)
    assert.are.equal(table.concat(want), out)
  end)

  it("csv: {header = false}; a provider without a name shows its GUID", function()
    local eb = etw.EventBuilder()
    eb:reset("X,y"):add_int32("n", 1)
    local _, meta, data = eb:bytes()
    local e = etw.decode_blobs(meta, data, nil, { provider_id = "00000000-0000-0000-0000-000000000001" })
    local out = written("csv", { header = false }, function(w) w(e) end)
    assert.are.equal(',00000000-0000-0000-0000-000000000001,"X,y",0,0,0,,,,"{""n"":1}"\n', out)
  end)

  it("filter, max_events and count", function()
    local seen = 0
    local out, w = written("text", { max_events = 2, filter = function(e)
      seen = seen + 1
      return e.pid == 4242
    end }, function(w)
      assert.is_true(w(ev))
      assert.is_false(w(perf))
      assert.is_true(w(ev))
      assert.is_false(w(ev))            -- max_events reached: not even filtered
    end)
    assert.are.equal(3, seen)
    assert.are.equal(2, w:count())
    local lines = select(2, out:gsub("\n", ""))
    assert.are.equal(2, lines)
  end)

  it("on_no_schema: once per provider/id/version, before the line", function()
    local msgs = {}
    local e = etw.decode_blobs(nil, "\1\2", nil, { header_kind = "event_header", id = 9,
      provider_id = "00000000-0000-0000-0000-000000000002" })
    local out = written("json", { on_no_schema = function(m) msgs[#msgs + 1] = m end },
      function(w) w(e); w(e); w(ev) end)
    assert.are.same({ "NO_SCHEMA: 00000000-0000-0000-0000-000000000002/9/0" }, msgs)
    assert.are.equal(e.decode_error, msgs[1])
    assert.matches('"payload":"0102"}\n', out, 1, true)
  end)

  it("raises on bad arguments, naming them", function()
    local function err(...)
      local ok, e = pcall(etw.EventWriter, ...)
      assert.is_false(ok)
      return e
    end
    assert.matches("bad argument #1 to 'etw.EventWriter' %(invalid option 'xml'%)", err("xml", io.stdout))
    assert.matches("bad argument #2 to 'etw.EventWriter' %(FILE%* expected, got table%)", err("csv", {}))
    assert.matches("unknown option 'maxevents'", err("csv", io.stdout, { maxevents = 1 }))
    assert.matches("'filter': must be a function", err("csv", io.stdout, { filter = 1 }))
    assert.matches("'header': must be a boolean", err("csv", io.stdout, { header = "no" }))
    assert.matches("'max_events'", err("csv", io.stdout, { max_events = -1 }))
  end)

  -- A writer keeps the last provider/name text and fields' shape from line
  -- to line: events that differ in just one of those, in turn and in runs,
  -- must come out as a new writer (nothing kept) writes each of them.
  it("events of several providers, names and shapes in turn: as each alone", function()
    local other = etw.Provider("Spec.Other")
    local function named(name, header, traits, build, tag)
      local eb = etw.EventBuilder()
      eb:reset(name, { level = 4, tag = tag })
      build(eb)
      local _, meta, data = eb:bytes()
      local h = { pid = 1, tid = 2, cpu = 0, timestamp = 132000000001234567, level = 4 }
      for k, v in pairs(header or {}) do h[k] = v end
      return etw.decode_blobs(meta, data, traits, h)
    end
    local id = ev.provider_id
    local evs = {
      ev,
      named("Sizes", { provider_id = id }, other.traits, fields),   -- same GUID, other name
      named("Other", nil, p.traits, fields),                         -- other event name
      named("Sizes", { provider_id = id }, nil, fields),             -- no provider name
      named(string.rep("n", 130), nil, p.traits, fields),            -- too long to keep
      named('q"\\', nil, p.traits, fields),                          -- escapes
      named("Sizes", nil, p.traits, function(eb) eb:add_int32("Max", -5) end), -- other shape
      named("Sizes", nil, other.traits, fields),                     -- other provider
      named("Sizes", nil, p.traits, function(eb) eb:add_uint32("Max", 5) end),
    }
    evs[10] = named("Sizes", { provider_id = evs[8].provider_id }, p.traits, fields) -- other GUID
    for _, h in ipairs({ { id = 8 }, { keyword = 0x21 }, { channel = 11 }, { task = 3 }, { version = 1 },
                         { opcode = 2 }, { level = 5 } }) do               -- one number apart
      evs[#evs + 1] = named("Sizes", h, p.traits, fields)
    end
    evs[18] = named("Sizes", nil, p.traits, fields, 5)                   -- event tags
    evs[19] = named("Sizes", nil, p.traits, fields, 6)
    local order = { 1, 2, 1, 3, 3, 1, 4, 1, 5, 5, 1, 6, 6, 7, 1, 7, 8, 2, 8, 1, 9, 7, 9, 4, 4, 10, 1, 10,
                    11, 1, 12, 12, 13, 14, 15, 16, 17, 1, 18, 19, 18, 1, 19 }
    for _, fmt in ipairs({ "json", "text", "csv" }) do
      local alone = {}
      for i, k in ipairs(order) do
        alone[i] = written(fmt, { header = false }, function(w) w(evs[k]) end)
      end
      local all = written(fmt, { header = false }, function(w)
        for _, k in ipairs(order) do w(evs[k]) end
      end)
      assert.are.equal(table.concat(alone), all)
      if fmt == "json" then assert.are.equal(evs[2]:json() .. "\n", alone[2]) end
    end
  end)

  -- Lines go into the stream's own buffer when it has room (glibc), else
  -- through fwrite: either way in order with what Lua writes to the file,
  -- and flushed as the stream's buffering says.
  it("lines and the file's own writes keep their order, whatever its buffering", function()
    local line = written("json", nil, function(w) w(ev) end)
    for _, mode in ipairs({ "full", "line", "no" }) do
      local path = temp_path()
      local f = assert(io.open(path, "w+b"))
      f:setvbuf(mode)
      local w = etw.EventWriter("json", f)
      f:write("a")                       -- no newline: a line buffer holds it
      w(ev)
      -- the line's newline flushed both (Windows' C runtime buffers a
      -- "line" stream fully)
      if mode == "no" or (mode == "line" and not windows) then
        assert.are.equal("a" .. line, tu.read_file(path), mode)
      end
      f:write("b\n")
      for _ = 1, 300 do w(ev) end         -- more than any stdio buffer holds
      f:write("c\n")
      w(ev)
      f:close()
      assert.are.equal("a" .. line .. "b\n" .. line:rep(300) .. "c\n" .. line, tu.read_file(path), mode)
    end
    -- a stream read to its end, then written
    local path = temp_path()
    local f = assert(io.open(path, "wb"))
    f:write("xyz\n")
    f:close()
    f = assert(io.open(path, "r+b"))
    assert.are.equal("xyz", f:read("l"))
    assert.is_nil(f:read("l"))
    local w = etw.EventWriter("json", f)
    w(ev)
    w(ev)
    f:close()
    assert.are.equal("xyz\n" .. line .. line, tu.read_file(path))
  end)

  -- Names of 8 to 16 bytes are compared as two 8-byte words: names of one
  -- length that differ in their first, a middle or their last byte, one
  -- after the other.
  it("json: provider and event names one byte apart, in turn: as each alone", function()
    local evs = {}
    local h = { pid = 1, tid = 2, cpu = 0, timestamp = 132000000001234567, level = 4 }
    for _, len in ipairs({ 8, 11, 16 }) do
      for _, as_provider in ipairs({ false, true }) do
        local base = ("abcdefghijklmnop"):sub(1, len)
        for _, at in ipairs({ 0, 1, len // 2, len }) do
          local name = at == 0 and base or base:sub(1, at - 1) .. "Z" .. base:sub(at + 1)
          local eb = etw.EventBuilder()
          eb:reset(as_provider and "E" or name, { level = 4 }):add_int32("n", 1)
          local _, meta, data = eb:bytes()
          local prov = etw.Provider(as_provider and name or "Spec.Format")
          evs[#evs + 1] = etw.decode_blobs(meta, data, prov.traits, h)
          prov:close()
        end
      end
    end
    local order = {} -- each name, then one byte apart, then the name again
    for b = 1, #evs, 4 do
      for _, k in ipairs({ b, b + 1, b, b + 2, b, b + 3, b }) do order[#order + 1] = k end
    end
    local alone = {}
    for i, k in ipairs(order) do alone[i] = written("json", nil, function(w) w(evs[k]) end) end
    local all = written("json", nil, function(w)
      for _, k in ipairs(order) do w(evs[k]) end
    end)
    assert.are.equal(table.concat(alone), all)
  end)

  it("raises when its file was closed", function()
    local f = assert(io.open(temp_path(), "wb"))
    local w = etw.EventWriter("json", f)
    f:close()
    local ok, e = pcall(w, ev)
    assert.is_false(ok)
    assert.matches("attempt to use a closed file", e)
  end)

  it("a failed write: w:error() says why and nothing more is written", function()
    local path = temp_path()
    assert(io.open(path, "wb")):close()
    local f = assert(io.open(path, "rb"))   -- writes to a read-only stream fail
    local w = etw.EventWriter("text", f)
    f:setvbuf("no")
    assert.is_false(w(ev))
    local a, b, c = w:error()
    f:close()
    assert.is_nil(a)
    assert.matches("^IO: ", b)
    assert.are.equal("IO", c)
    assert.is_false(w(ev))
    assert.are.equal(0, w:count())
  end)
end)

-- Every shared sample and a file of our own, through c:on(writer) (no
-- etw.Event) and through the Lua writers of etwlua.format: the same bytes.
describe("etw.EventWriter as a consumer handler", function()
  -- every .etl of etl-samples (Windows: the perfview ones; no `find` there)
  local function files()
    local list = {}
    local dir = tu.shared_dir()
    if not dir then return list end
    if windows then
      for _, name in ipairs({ "net.4.5.2.x64.etl", "primitive-types.etl",
                              "SelfDescribingSingleEvent.etl", "gcevents.PerfViewData.etl" }) do
        list[#list + 1] = dir .. "/etl-samples/perfview/" .. name
      end
      return list
    end
    local f = assert(io.popen("find '" .. dir .. "/etl-samples' -name '*.etl' | sort"))
    for l in f:lines() do list[#list + 1] = l end
    f:close()
    return list
  end

  local function both(path, fmt, opts)
    local a = temp_path()
    local f = assert(io.open(a, "wb"))
    local c <close> = assert(etw.Consumer { files = path })
    local w = etw.EventWriter(fmt, f)
    if opts then c:on(opts, w); c:on(opts, w) else c:on(w) end  -- twice: written once
    c:run()
    f:close()
    local b = temp_path()
    f = assert(io.open(b, "wb"))
    local c2 <close> = assert(etw.Consumer { files = path })
    c2:on(opts or {}, format.new(fmt, f))
    c2:run()
    f:close()
    return tu.read_file(a), tu.read_file(b)
  end

  it("writes what etwlua.format writes, for every shared sample", function()
    local list = files()
    if #list == 0 then return pending("../shared is absent (ETWLUA_SHARED)") end
    for _, path in ipairs(list) do
      for _, fmt in ipairs({ "text", "json", "csv" }) do
        local x, y = both(path, fmt)
        assert.are.equal(#y, #x, path .. " " .. fmt)
        assert.is_true(x == y, path .. " " .. fmt)
      end
    end
    local x, y = both(list[1], "json", { level = 4 })
    assert.is_true(x == y)
  end)
end)
