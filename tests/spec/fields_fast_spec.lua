-- fields_fast_spec.lua: field reads at the cost of a lookup (issue 13 §2).
--   * ev.fields.Name read lazily (one value, nothing built) agrees with the
--     whole table, over the shared vectors (every prefix of their data, so
--     every decode error), over every ETL sample (TraceLogging, kernel MOF
--     and manifest events) and over HTTP_Server.etl with its manifest;
--   * c:on{fields = {...}} passes what the whole table holds;
--   * c:on{where = {...}} (tested in C) selects exactly the events the same
--     test written in Lua selects, for TraceLogging and TDH fields;
--   * etwlua.filter's fast path (table filter + rest) selects exactly what
--     the whole expression in Lua selects, and dump prints the same.
local etw = require "etw"
local cjson = require "cjson"
local util = require "testutil"
local filter = require "etwlua.filter"

local windows = package.config:sub(1, 1) == "\\"
local describe_posix = windows and pending or describe
local S = util.shared_dir()

teardown(util.tmp_cleanup)

-- Deep equality of values as ev.fields holds them (NaN equals NaN).
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then return a == b or (a ~= a and b ~= b) end
  if type(a) ~= "table" then return a == b end
  if #a ~= #b then return false end
  local na, nb = {}, {}
  for k, v in pairs(a) do na[#na + 1] = { k, v } end
  for k, v in pairs(b) do nb[#nb + 1] = { k, v } end
  if #na ~= #nb then return false end
  for i = 1, #na do
    if na[i][1] ~= nb[i][1] or not same(na[i][2], nb[i][2]) then return false end
  end
  return true
end

-- The whole table's first value per name, in order: names, values.
local function first_of_names(t)
  local names, vals = {}, {}
  for k, v in pairs(t) do
    if type(k) == "string" and vals[k] == nil and not names[k] then
      names[#names + 1], names[k], vals[k] = k, true, v
    end
  end
  return names, vals
end

-- Read `names` from ev lazily, then build the whole table and compare.
-- Returns nil or a message naming the first difference.
local function check_lazy(ev, names)
  local got = {}
  for i, n in ipairs(names) do got[i] = ev.fields[n] end
  local _, full = first_of_names(ev.fields)       -- pairs builds the table
  for i, n in ipairs(names) do
    if not same(got[i], full[n]) then
      return string.format("field %q: lazy %s, whole table %s", n, tostring(got[i]), tostring(full[n]))
    end
  end
  return nil
end

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

-- A file of events of many field types, for where= against Lua.
local GUID = "01234567-89ab-cdef-0123-456789abcdef"
local function make_file()
  local path = util.tmp(util.unique("where") .. ".etl")
  local s = etw.Session(util.unique("where"), { mode = "file", file = path })
  assert(s:start())
  assert(s:enable("Fast.Fields"))
  local p <close> = etw.Provider("Fast.Fields")
  local eb = etw.EventBuilder()
  local statuses = { 200, 404, 500, 503, -7, 0, 2147483647, -2147483648, 499 }
  local paths = { "/x", "/a/b", "", "/m", "/x/", "\0/x", "/ü" }
  local ratios = { 0.5, 0 / 0, math.huge, -math.huge, 0.25, -0.0, 1e300 }
  local bigs = { 0, -1, math.mininteger, math.maxinteger, 1 << 62, 5 }
  for i = 1, 120 do
    eb:reset("Req")
    eb:add_int32("i", i)
    eb:add_int32("Status", statuses[i % #statuses + 1])
    eb:add_uint8("Small", (i * 37) % 256)
    eb:add_uint64("Big", bigs[i % #bigs + 1])
    eb:add_float64("Ratio", ratios[i % #ratios + 1])
    eb:add_float32("F", (i % 5) / 10)
    eb:add_str8("Path", paths[i % #paths + 1])
    eb:add_str16("W", i % 3 == 0 and "héllo" or "h")
    eb:add_bool32("Flag", i % 2 == 0)
    eb:add_uint8("B", i % 2, etw.OutType.BOOLEAN)
    eb:add_guid("G", GUID)
    eb:add_binary_bytes("Bin", i % 2 == 0 and "\1\2" or "\1\3")
    eb:add_uint16_seq("arr", { 1, 2 })
    eb:add_struct("st", 1):add_int32("x", i)
    eb:add_str8("Status", "dup")                   -- a repeated name: the first one counts
    assert(p:write(eb) == 0)
    eb:reset("Other")
    eb:add_int32("i", i)
    eb:add_str8("Status", tostring(statuses[i % #statuses + 1]))  -- another type
    if i % 2 == 0 then eb:add_int32("Path", i) end
    assert(p:write(eb) == 0)
    eb:reset("Bare"):add_int32("i", i)               -- the fields are missing
    assert(p:write(eb) == 0)
  end
  s:stop()
  return path
end

-- The Lua reading of one condition (see lwhere.c): a missing value or one
-- of another type fails it; `~=` needs a value of the constant's type.
local function lua_holds(v, op, k)
  local function cmp(a, b, o)
    local ok, r = pcall(function()
      if o == "=" then return a == b elseif o == "<" then return a < b
      elseif o == "<=" then return a <= b elseif o == ">" then return a > b
      elseif o == ">=" then return a >= b end
    end)
    return ok and r
  end
  local kinds = type(v) == type(k) and (type(v) == "number" or type(v) == "string")
  if type(k) == "table" then
    if op == "~=" then
      local any = false
      for _, x in ipairs(k) do
        if type(v) == type(x) and (type(v) == "number" or type(v) == "string") then
          any = true
          if v == x then return false end
        end
      end
      return any
    end
    for _, x in ipairs(k) do if cmp(v, x, "=") then return true end end
    return false
  end
  if op == "~=" then return kinds and v ~= k end
  return cmp(v, k, op)
end

local function lua_where(ev, where)
  for name, cond in pairs(where) do
    local v = ev.fields[name]
    local list = type(cond) == "table" and type(cond[1]) == "table" and cond or { cond }
    for _, c in ipairs(list) do
      local op, k = "=", c
      if type(c) == "table" then
        if type(c[1]) == "string" and #c == 2 and ({ ["="] = 1, ["~="] = 1, ["<"] = 1, ["<="] = 1,
          [">"] = 1, [">="] = 1 })[c[1]] then
          op, k = c[1], c[2]
        end
      end
      if not lua_holds(v, op, k) then return false end
    end
  end
  return true
end

-- Event keys ("Req/17") selected by where (in C) and by Lua.
local function both_ways(files, manifests, extra, where)
  local key = function(ev)
    return tostring(ev.name) .. "/" .. tostring(ev.fields.i or ev.timestamp) .. "/" .. tostring(ev.id)
  end
  local by_c, by_lua = {}, {}
  local c = assert(etw.Consumer { files = files, manifests = manifests })
  local f = { where = where }
  for k, v in pairs(extra or {}) do f[k] = v end
  c:on(f, function(ev) by_c[#by_c + 1] = key(ev) end)
  c:on(function(ev)
    for k, v in pairs(extra or {}) do if ev[k] ~= v then return end end
    if lua_where(ev, where) then by_lua[#by_lua + 1] = key(ev) end
  end)
  c:run()
  c:close()
  return by_c, by_lua
end

-- A where table as text for the test names.
local function describe_where(w)
  local function show(v)
    if type(v) == "table" then
      local t = {}
      for i, x in ipairs(v) do t[i] = show(x) end
      return "{" .. table.concat(t, ", ") .. "}"
    end
    return type(v) == "string" and string.format("%q", v):gsub("\\\n", "\\n") or tostring(v)
  end
  local parts = {}
  for k, v in pairs(w) do parts[#parts + 1] = k .. " = " .. show(v) end
  table.sort(parts)
  return table.concat(parts, ", ")
end

describe_posix("c:on{where = ...} (tested in C) and the same test in Lua", function()
  local path
  setup(function() path = make_file() end)

  local conds = {
    { Status = 500 }, { Status = { ">=", 500 } }, { Status = { "<", -1 } }, { Status = { 500, 404 } },
    { Status = { "~=", 500 } }, { Status = { "~=", { 500, 404 } } }, { Status = { ">", 499.5 } },
    { Status = { "<=", 500.0 } }, { Status = { "<", 1e300 } }, { Status = { ">", -math.huge } },
    { Status = { { ">=", 400 }, { "<", 500 } } }, { Status = "500" }, { Status = { "=", { "500", 200 } } },
    { Big = { "<", 0 } }, { Big = { ">", 2.0 ^ 62 } }, { Big = math.mininteger },
    { Big = { ">=", math.maxinteger + 0.0 } }, { Big = { "<", -2.0 ^ 63 } },
    { Ratio = { ">", 0.25 } }, { Ratio = { "=", 0 / 0 } }, { Ratio = { "~=", 0 / 0 } },
    { Ratio = { ">=", math.huge } }, { Ratio = 0 }, { F = { "<", 0.2 } }, { F = { "=", 0.5 } },
    { Small = { ">", 250 } }, { Small = { "<=", 10 } },
    { Path = "/x" }, { Path = { "<", "/m" } }, { Path = { ">=", "" } }, { Path = { ">", "/x" } },
    { Path = { "<", "\0/y" } }, { Path = { ">", "/u" } }, { Path = 4 },
    { W = "héllo" }, { W = { ">", "h" } }, { W = { "<", "hé" } },
    { Flag = 1 }, { B = 1 }, { B = { "~=", 1 } }, { G = GUID }, { G = { ">", "0" } }, { Bin = "\1\2" },
    { arr = 1 }, { st = 1 }, { Nope = 1 }, { Nope = { "~=", 1 } },
    { Status = { ">=", 500 }, Path = "/x" }, { i = { { ">", 10 }, { "<=", 20 } } },
  }
  for n, w in ipairs(conds) do
    it("condition " .. n .. ": " .. describe_where(w), function()
      local by_c, by_lua = both_ways(path, nil, nil, w)
      assert.are.same(by_lua, by_c)
    end)
  end

  it("selects something for most conditions (the tests are not vacuous)", function()
    local nonempty = 0
    for _, w in ipairs(conds) do
      local by_c = both_ways(path, nil, nil, w)
      if #by_c > 0 then nonempty = nonempty + 1 end
    end
    assert.truthy(nonempty >= 30)
  end)

  it("with name and provider filters", function()
    local by_c, by_lua = both_ways(path, nil, { name = "Other" }, { Status = "500" })
    assert.are.same(by_lua, by_c)
    assert.truthy(#by_c > 0)
    by_c = both_ways(path, nil, { provider = "Fast.Fields", name = "Req" }, { Status = { ">=", 500 } })
    assert.truthy(#by_c > 0)
    by_c = both_ways(path, nil, { provider = "Not.This" }, { Status = { ">=", 500 } })
    assert.are.same({}, by_c)
  end)

  it("fields= passes the values as arguments, nil when missing", function()
    local c <close> = assert(etw.Consumer { files = path })
    local names = { "Status", "Path", "st", "arr", "Nope", "W", "G", "Ratio", "B" }
    local n = 0
    c:on({ name = "Req", fields = names }, function(ev, ...)
      local args = table.pack(...)
      assert.are.equal(#names, args.n)
      local _, full = first_of_names(ev.fields)
      for i, name in ipairs(names) do assert(same(args[i], full[name]), name) end
      assert.is_nil(args[5])
      n = n + 1
    end)
    c:run()
    assert.are.equal(120, n)
  end)

  it("raises on misuse, naming the option and the rule", function()
    local c <close> = assert(etw.Consumer { files = path })
    local cases = {
      { { where = 5 }, "on: filter field 'where' must be a table of field name = condition" },
      { { where = { [1] = 5 } }, "on: filter field 'where': keys must be field names (strings)" },
      { { where = { S = true } }, "on: filter field 'where': S: a value must be a number or a string" },
      { { where = { S = { ">>", 1 } } }, "on: filter field 'where': S: unknown operator (one of = ~= < <= > >=)" },
      { { where = { S = { "<", { 1, 2 } } } }, "on: filter field 'where': S: a list of values goes with '=' or '~=' only" },
      { { where = { S = {} } }, "on: filter field 'where': S: a list of values must be a non-empty sequence" },
      { { where = { S = { "=", 1, 2 } } }, "on: filter field 'where': S: an operator form is {op, value} (op one of = ~= < <= > >=)" },
      { { where = { S = { { ">", 1 }, 2 } } }, "on: filter field 'where': S: a list of conditions holds {op, value} tables only" },
      { { fields = "Status" }, "on: filter field 'fields' must be a list of field names (strings)" },
      { { fields = { 1 } }, "on: filter field 'fields' must be a list of field names (strings)" },
      { { fields = { a = "b" } }, "on: filter field 'fields' must be a list of field names (strings)" },
      { { wher = {} }, "on: unknown filter field 'wher' (provider, name, id, level, opcode, task, keyword, where, fields)" },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(c.on, c, case[1], function() end)
      assert.is_false(ok)
      assert.are.equal(case[2], err)
    end
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

-- The events a --filter expression selects: all in Lua, or through
-- filter.fast (table filter in C + the rest in Lua).
local function select_both(files, manifests, expr)
  local keep = assert(filter.compile(expr, { on_error = function() end }))
  local fast, rest = filter.fast(expr)
  assert(fast, "no fast path for " .. expr)
  local rest_pred = rest and assert(filter.compile(rest, { on_error = function() end }))
  local lua_sel, c_sel = {}, {}
  local c <close> = assert(etw.Consumer { files = files, manifests = manifests })
  local n = 0
  c:on(function(ev)
    n = n + 1
    if keep(ev) then lua_sel[#lua_sel + 1] = n end
  end)
  c:on(fast, function(ev)
    if not rest_pred or rest_pred(ev) then c_sel[#c_sel + 1] = n end
  end)
  c:run()
  return lua_sel, c_sel
end

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

  local exprs = {
    "fields.Status >= 500", "fields.Status == 500", "-7 >= fields.Status", "fields.Path == '/x'",
    "fields.Status >= 500 and fields.Path < '/n'", "name == 'Other' and fields.Status == '500'",
    "fields.Ratio > 0.25 and level <= 5", "provider == 'Fast.Fields' and fields.Big < 0",
    "fields.W == 'héllo' and fields.Flag", "fields.Nope > 1", "fields.st > 1",
    "fields.i > 10 and fields.i <= 20 and name ~= 'Bare'",
  }
  describe_posix("on a file of TraceLogging events", function()
    local path
    setup(function() path = make_file() end)
    for _, e in ipairs(exprs) do
      it(e, function()
        local lua_sel, c_sel = select_both(path, nil, e)
        assert.are.same(lua_sel, c_sel)
      end)
    end
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

describe("etwlua dump --filter: fast path and Lua path print the same", function()
  local exe = os.getenv("ETWLUA_EXE")
  if not S or not exe or windows then
    it("needs ../shared and ETWLUA_EXE (POSIX shell)", function() pending("skipped: no samples or no ETWLUA_EXE") end)
    return
  end
  local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
  local function dump(args)
    local out = util.tmp(util.unique("dump"))
    local ok = os.execute(q(exe) .. " dump " .. args .. " >" .. out .. " 2>/dev/null")
    assert(ok, "dump failed: " .. args)
    return util.read_file(out)
  end
  local tx = S .. "/etl-samples/tx/"
  local pt = S .. "/etl-samples/perfview/primitive-types.etl"
  local cases = {
    { q(pt), "fields.int32_type < -100" },
    { q(pt), "fields.string_type >= 'M' and fields.uint16_type <= 65" },
    { q(tx .. "HTTP_Server.etl") .. " --manifest " .. q(tx .. "HTTP_Server.man") .. " --format json",
      "fields.StatusCode >= 300 and name == 'HTTP Request Trace Task'" },
  }
  for _, c in ipairs(cases) do
    it(c[2], function()
      assert(filter.fast(c[2]))
      local fast = dump(c[1] .. " --filter " .. q(c[2]))
      local slow = dump(c[1] .. " --filter " .. q("not not (" .. c[2] .. ")"))
      assert.truthy(#fast > 0)
      assert.are.equal(slow, fast)
    end)
  end
end)
