-- fields_fast_spec.lua: field reads at the cost of a lookup (issue 13 §2),
-- the parts that run on every platform (no session needed):
--   * ev.fields.Name read lazily (one value, nothing built) agrees with the
--     whole table, over the shared vectors (every prefix of their data, so
--     every decode error), over every ETL sample (TraceLogging, kernel MOF
--     and manifest events) and over HTTP_Server.etl with its manifest;
--   * c:on{fields = {...}} passes what the whole table holds;
--   * c:on{where = {...}} on TDH fields selects what Lua selects;
--   * etwlua.filter.fast splits expressions; its table filter + rest select
--     what the whole expression selects (HTTP_Server.etl).
-- fields_where_spec.lua has the parts that write a file through a session.
local etw = require "etw"
local cjson = require "cjson"
local util = require "testutil"
local filter = require "etwlua.filter"
local F = require "fieldsutil"

local S = util.shared_dir()
local same, first_of_names, check_lazy = F.same, F.first_of_names, F.check_lazy
local both_ways, select_both = F.both_ways, F.select_both

local function vector_blobs()
  local dir = S or "../shared"
  local f = io.open(dir .. "/vectors/tlg-vectors.json", "rb")
  if not f then return nil end
  local V = cjson.decode(f:read("a"))
  f:close()
  local out = {}
  for _, case in ipairs(V.event_cases) do
    local ex = case.expected
    if ex.metadata_hex and ex.data_hex then
      out[#out + 1] = { id = case.id, meta = util.fromhex(ex.metadata_hex), data = util.fromhex(ex.data_hex) }
    end
  end
  return out
end

describe("ev.fields.Name (lazy) and the whole table", function()
  local blobs = function(add)
    local eb = etw.EventBuilder()
    eb:reset("E")
    add(eb)
    local _, meta, data = eb:bytes()
    return meta, data
  end

  it("reads one value without building the table; #, pairs, [i] build it in place", function()
    local meta, data = blobs(function(eb)
      eb:add_int32("Status", 503):add_str8("Path", "/x"):add_int32("Status", 7)
    end)
    local ev = etw.decode_blobs(meta, data)
    local f = ev.fields
    assert.are.equal(503, f.Status)
    assert.are.equal("/x", f.Path)
    assert.is_nil(f.Nope)
    assert.are.equal(0, rawlen(f))                -- nothing built yet
    assert.is_nil(rawget(f, "Status"))
    assert.are.equal(3, #f)                       -- builds it
    assert.are.equal(3, rawlen(f))
    assert.are.equal(503, rawget(f, "Status"))
    assert.are.equal(f, ev.fields)                -- the same table, now whole
    local order = {}
    for k, v in pairs(f) do order[#order + 1] = k .. "=" .. tostring(v) end
    assert.are.same({ "Status=503", "Path=/x", "Status=7" }, order)
    local n = 0
    for _ in next, f do n = n + 1 end
    assert.are.equal(3 + 2, n)                    -- next sees positions and names, no link
    assert.are.equal("etw.Fields", getmetatable(f).__name)
  end)

  it("builds the table for an assignment, ipairs and struct / array values", function()
    local meta, data = blobs(function(eb)
      eb:add_int32("a", 1):add_struct("s", 1):add_uint8("x", 7):add_uint16_seq("arr", { 4, 5 })
    end)
    local f = etw.decode_blobs(meta, data).fields
    f.extra = 9
    assert.are.equal(1, rawget(f, "a"))
    assert.are.equal(9, f.extra)
    local g = etw.decode_blobs(meta, data).fields
    local seen = {}
    for i, v in ipairs(g) do seen[i] = v end
    assert.are.equal(3, #seen)
    local h = etw.decode_blobs(meta, data).fields
    assert.are.equal(7, h.s.x)
    assert.are.same({ 4, 5 }, h.arr)
    assert.are.equal(h.s, h[2])
  end)

  it("reads fields after the first variable one by their sizes, for every prefix of the data", function()
    local sid = "\1\1\0\0\0\0\0\5\18\0\0\0"              -- S-1-5-18
    local plain = function(eb)                       -- single values only: sized one by one
      eb:add_int32("Status", 503):add_str8("Path", "/api/items"):add_float64("Seconds", 0.25)
        :add_uint16("Port", 8443):add_zstr8("Z", "zero"):add_str16("W", "wïde")
        :add_zstr16("ZW", "zw"):add_binary_bytes("B", "\0\1\2"):add_cbinary_bytes("CB", "cb")
        :add_sid_bytes("Sid", sid):add_guid("G", "01234567-89ab-cdef-0123-456789abcdef")
        :add_str8("Tags", "a,b"):add_uint8("Last", 255)
    end
    local after_array = function(eb)                 -- an array / struct before: the decoder
      eb:add_str8("P", "p"):add_uint16_seq("Arr", { 1, 2, 3 }):add_int32("A", -1)
        :add_struct("S", 1):add_uint8("x", 7):add_str8("T", "t")
    end
    for _, add in ipairs({ plain, after_array }) do
      local meta, data = blobs(add)
      local names = { "no such field" }
      for _, info in ipairs(etw.decode_blobs(meta, data).schema) do names[#names + 1] = info.name end
      local whole = etw.decode_blobs(meta, data).fields
      for cut = #data, 0, -1 do
        local ev = etw.decode_blobs(meta, data:sub(1, cut))
        local err = check_lazy(ev, names)
        assert(not err, "data[1.." .. cut .. "]: " .. tostring(err))
      end
      if add == plain then                           -- and the values themselves
        local f = etw.decode_blobs(meta, data).fields
        assert.are.equal(0.25, f.Seconds)
        assert.are.equal(8443, f.Port)
        assert.are.equal("zero", f.Z)
        assert.are.equal("wïde", f.W)
        assert.are.equal("zw", f.ZW)
        assert.are.equal("\0\1\2", f.B)
        assert.are.equal("cb", f.CB)
        assert.are.equal("S-1-5-18", f.Sid)
        assert.are.equal("01234567-89ab-cdef-0123-456789abcdef", f.G)
        assert.are.equal("a,b", f.Tags)
        assert.are.equal(255, f.Last)
        assert.are.equal(13, #whole)
      else
        local f = etw.decode_blobs(meta, data).fields
        assert.are.equal(-1, f.A)
        assert.are.equal("t", f.T)
      end
    end
  end)

  it("agrees over the shared vectors and every prefix of their data", function()
    local cases = vector_blobs()
    if not cases then
      pending("../shared absent: vectors skipped")
      return
    end
    local checked = 0
    for _, c in ipairs(cases) do
      local names = { "no such field", "" }
      for _, info in ipairs(etw.decode_blobs(c.meta, c.data).schema) do names[#names + 1] = info.name end
      for cut = #c.data, 0, -1 do
        local d = c.data:sub(1, cut)
        local ev = etw.decode_blobs(c.meta, d)
        local err = check_lazy(ev, names)
        assert(not err, c.id .. " data[1.." .. cut .. "]: " .. tostring(err))
        assert.are.equal(etw.decode_blobs(c.meta, d).decode_error, ev.decode_error)
        checked = checked + 1
      end
    end
    assert.truthy(checked > 1000)
  end)

  it("agrees on damaged metadata (every prefix of it)", function()
    local meta, data = blobs(function(eb)
      eb:add_int32("a", 1):add_str16("w", "héllo"):add_struct("s", 2):add_uint8("x", 7)
        :add_guid("g", "01234567-89ab-cdef-0123-456789abcdef"):add_float64("d", 0.5)
    end)
    for cut = #meta, 2, -1 do
      local m = string.pack("<I2", cut) .. meta:sub(3, cut)
      local ev = etw.decode_blobs(m, data)
      local err = check_lazy(ev, { "a", "w", "s", "d", "x", "g" })
      assert(not err, "metadata[1.." .. cut .. "]: " .. tostring(err))
    end
  end)
end)

describe("etw.Event's per-state caches (property names, lazy table size, shapes)", function()
  local function event(name, add, header)
    local eb = etw.EventBuilder()
    eb:reset(name)
    add(eb)
    local _, meta, data = eb:bytes()
    return etw.decode_blobs(meta, data, nil, header)
  end

  it("finds every property by its name however the name string was made", function()
    local G = "01234567-89ab-cdef-0123-456789abcdef"
    local header = { provider_id = G, activity_id = G, id = 7, version = 2, channel = 11, level = 4,
                     opcode = 9, task = 300, keyword = 0x20, pid = 41, tid = 42, cpu = 3,
                     timestamp = 133000000000000000, header_kind = "event_header" }
    local ev = event("Req", function(eb) eb:add_int32("Status", 503) end, header)
    local want = { id = 7, version = 2, channel = 11, level = 4, opcode = 9, task = 300,
                   keyword = 0x20, pid = 41, tid = 42, cpu = 3, timestamp = 133000000000000000,
                   provider_id = G, activity_id = G, name = "Req", header_kind = "event_header" }
    for k, v in pairs(want) do
      local made = table.concat({ k:sub(1, 1), k:sub(2) })   -- a string built at run time
      assert.are.equal(v, ev[k], k)
      assert.are.equal(v, ev[made], made)
    end
    assert.are.equal(503, ev[("fie") .. ("lds")].Status)
    assert.are.equal(ev.fields, ev["fields"])
    assert.are.equal("function", type(ev.json))
    assert.are.equal("function", type(ev["map" .. "ped"]))
    for _, k in ipairs({ "nope", "", ("fields"):rep(10), "Fields", "fields\0" }) do
      assert.is_nil(ev[k], k)
    end
    assert.is_nil(ev[1])
    assert.is_nil(ev[true])
    local index = getmetatable(ev).__index
    assert.has_error(function() index({}, "id") end)
    assert.has_error(function() index(io.stdout, "id") end)
    assert.has_error(function() index(etw.EventBuilder(), "fields") end)
  end)

  it("lazy ev.fields agrees with the whole table whether tables were built whole lately or not", function()
    local function add(eb)
      eb:add_int32("Status", 503):add_str8("Path", "/x"):add_int32("Status", 7)
        :add_struct("s", 1):add_uint8("x", 5)
    end
    local function check(build)
      local f = event("E", add).fields
      assert.are.equal(503, f.Status)
      assert.are.equal("/x", f.Path)
      assert.is_nil(f.Nope)
      assert.are.equal(0, rawlen(f))                 -- nothing built yet
      if not build then return end
      assert.are.equal(4, #f)
      assert.are.equal(503, rawget(f, "Status"))
      assert.are.equal(5, f.s.x)
      local order = {}
      for k, v in pairs(f) do order[#order + 1] = k .. "=" .. tostring(type(v) == "table" and v.x or v) end
      assert.are.same({ "Status=503", "Path=/x", "Status=7", "s=5" }, order)
    end
    for _ = 1, 2 do
      for _ = 1, 300 do check(false) end             -- no builds: lazy tables made small
      for _ = 1, 300 do check(true) end              -- every one built: made with room for it
      for i = 1, 300 do check(i % 20 == 0) end       -- now and then
    end
  end)

  it("events kept while hundreds of other shapes (same metadata length) come and go read their own fields", function()
    local kept = {}
    for i = 1, 600 do
      local ev = event(("E%03d"):format(i), function(eb)
        eb:add_int32(("F%03d"):format(i), i):add_str8("S", tostring(i))
      end)
      if i % 2 == 0 then assert.are.equal(i, ev.fields[("F%03d"):format(i)]) end  -- shape taken now
      kept[i] = ev
    end
    for i = 600, 1, -1 do
      local f = kept[i].fields
      assert.are.equal(i, f[("F%03d"):format(i)])
      assert.is_nil(f[("F%03d"):format(i % 600 + 1)])  -- the next event's name
      assert.are.equal(tostring(i), f.S)
      assert.are.equal(("E%03d"):format(i), kept[i].name)
    end
    collectgarbage()
    for i = 1, 600, 7 do assert.are.equal(2, #kept[i].fields) end
  end)
end)

-- Two passes over files: the names each kind of event has, then lazy reads
-- of them (and a missing one) against the whole table, and fields= args.
local function check_files(files, opts, max)
  local kinds = {}
  local function kind(ev)
    return table.concat({ ev.provider_id, tostring(ev.name), ev.id, ev.version, ev.opcode }, "/")
  end
  local c = assert(etw.Consumer { files = files, manifests = opts and opts.manifests })
  c:on(function(ev)
    local k = kind(ev)
    local names = first_of_names(ev.fields)
    local have = kinds[k] or { "no such field" }
    for _, n in ipairs(names) do
      if not have[n] then have[#have + 1], have[n] = n, true end
    end
    kinds[k] = have
  end)
  c:run { max_events = max }
  c:close()
  local checked, valued = 0, 0
  c = assert(etw.Consumer { files = files, manifests = opts and opts.manifests })
  c:on(function(ev)
    local names = kinds[kind(ev)]
    local err = check_lazy(ev, names)
    assert(not err, kind(ev) .. ": " .. tostring(err))
    checked = checked + 1
    if #names > 1 then valued = valued + 1 end
  end)
  c:run { max_events = max }
  c:close()
  -- fields= hands the handler what the whole table holds
  for k, have in pairs(kinds) do
    local names = table.move(have, 1, #have, 1, {})
    if #names > 1 then
      c = assert(etw.Consumer { files = files, manifests = opts and opts.manifests })
      c:on({ fields = names }, function(ev, ...)
        if kind(ev) ~= k then return end
        local args = table.pack(...)
        local _, full = first_of_names(ev.fields)
        for i, n in ipairs(names) do
          assert(same(args[i], full[n]), k .. ": fields= " .. n .. " differs")
        end
      end)
      c:run { max_events = max }
      c:close()
      break                                          -- one kind per file set: time
    end
  end
  return checked, valued
end

describe("ev.fields.Name over real files", function()
  if not S then
    it("needs ../shared", function() pending("ETWLUA_SHARED not set: samples skipped") end)
    return
  end
  local dir = S .. "/etl-samples/"
  local files = {
    "s4/waasmedic.20251005_113019_195.etl", "s4/SIH.20230422.034724.362.1.etl",
    "s4/WindowsUpdate.20251008.140245.443.8.etl", "airbus-etl-parser/lxcore_kernel.etl",
    "airbus-etl-parser/AMSITrace.etl", "airbus-etl-parser/ShutdownPerfDiagLogger.etl",
    "perfview/gcevents.PerfViewData.etl", "perfview/primitive-types.etl",
    "perfview/gcrundownevents.PerfViewData.clrRundown.etl", "perfview/net.4.5.2.x64.etl",
    "perfview/SelfDescribingSingleEvent.etl",
  }
  for _, f in ipairs(files) do
    it("agrees on " .. f, function()
      local n, valued = check_files(dir .. f, nil, 20000)
      assert.truthy(n > 0 and valued > 0)
    end)
  end
  it("agrees on HTTP_Server.etl decoded by HTTP_Server.man (TDH walker)", function()
    local tx = dir .. "tx/"
    local n, valued = check_files(tx .. "HTTP_Server.etl", { manifests = tx .. "HTTP_Server.man" })
    assert.are.equal(2042, n)
    assert.truthy(valued >= 2041)
  end)
end)

describe("c:on{where = ...} on TDH (manifest-decoded) fields", function()
  if not S then
    it("needs ../shared", function() pending("ETWLUA_SHARED not set: samples skipped") end)
    return
  end
  local tx = S .. "/etl-samples/tx/"
  local conds = {
    { StatusCode = { ">=", 300 } }, { StatusCode = 200 }, { Verb = "GET" }, { Verb = { "~=", "GET" } },
    { Url = { ">", "http://georgis2:80/w" } }, { HttpStatus = { 200, 304 } }, { RequestId = { "<", 0 } },
    { ConnectionObj = { "~=", 0 } }, { SiteId = { "<=", 1 }, Status = 0 }, { RequestQueueName = "DefaultAppPool" },
  }
  for n, w in ipairs(conds) do
    it("condition " .. n .. " selects what Lua selects", function()
      local by_c, by_lua = both_ways(tx .. "HTTP_Server.etl", tx .. "HTTP_Server.man", nil, w)
      assert.are.same(by_lua, by_c)
      if n <= 3 then assert.truthy(#by_c > 0) end
    end)
  end
  it("name and provider filters match the manifest's names", function()
    local by_c, by_lua = both_ways(tx .. "HTTP_Server.etl", tx .. "HTTP_Server.man",
      { provider = "Microsoft-Windows-HttpService", name = "HTTP Request Trace Task" }, { StatusCode = 304 })
    assert.are.same(by_lua, by_c)
    assert.truthy(#by_c > 0)
  end)
end)

describe("etwlua.filter: the fast path and the whole expression in Lua", function()
  it("fast() splits what C can test from the rest", function()
    local t, rest = filter.fast("fields.Status >= 500 and level <= 3 and name == 'Req'")
    assert.are.same({ name = "Req", where = { Status = { { ">=", 500 } } } }, t)
    assert.are.equal("level <= 3", rest)
    t, rest = filter.fast("500 < ev.fields['Status'] and provider == 'P'")
    assert.are.same({ provider = "P", where = { Status = { { ">", 500 } } } }, t)
    assert.are.equal("provider == 'P'", rest)
    assert.is_nil(filter.fast("fields.Status ~= 500"))
    assert.is_nil(filter.fast("fields.Status >= 500 or level < 2"))
    assert.is_nil(filter.fast("(fields.Status >= 500)"))
    assert.is_nil(filter.fast("fields.Status >= 500 and"))
    assert.is_nil(filter.fast("fields.S.x > 1"))
  end)

  describe("on HTTP_Server.etl with its manifest", function()
    if not S then
      it("needs ../shared", function() pending("ETWLUA_SHARED not set: samples skipped") end)
      return
    end
    local tx = S .. "/etl-samples/tx/"
    for _, e in ipairs { "fields.StatusCode >= 300", "fields.Verb == 'GET' and name == 'HTTP Request Trace Task'",
                         "provider == 'Microsoft-Windows-HttpService' and fields.HttpStatus == 200" } do
      it(e, function()
        local lua_sel, c_sel = select_both(tx .. "HTTP_Server.etl", tx .. "HTTP_Server.man", e)
        assert.are.same(lua_sel, c_sel)
        assert.truthy(#c_sel > 0)
      end)
    end
  end)
end)

