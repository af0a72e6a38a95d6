-- etw.EventTemplate (p:event): same bytes as the EventBuilder, errors that
-- name the field and the rule and write nothing, provider ownership, and a
-- live session that receives template events.
local etw = require "etw"

local windows = package.config:sub(1, 1) == "\\"
local describe_posix = windows and pending or describe

local function request_template(p)
  return p:event("RequestDone", {level = 4, keyword = 0x21, opcode = etw.Opcode.STOP},
    {"Status", "int32"}, {"Path", "str8"}, {"Seconds", "float64"},
    {"Client", "struct", {{"Host", "str8"}, {"Port", "uint16", etw.OutType.PORT}}},
    {"Tags", "str8_seq"})
end

local function request_builder()
  local eb = etw.EventBuilder()
  eb:reset("RequestDone", {level = 4, keyword = 0x21, opcode = etw.Opcode.STOP})
  eb:add_int32("Status", 201):add_str8("Path", "/x"):add_float64("Seconds", 0.5)
  eb:add_struct("Client", 2):add_str8("Host", "10.0.0.1")
  eb:add_uint16("Port", 8443, etw.OutType.PORT):add_str8_seq("Tags", {"a", "b"})
  return eb
end

describe("etw.EventTemplate", function()
  it("gives the EventBuilder's bytes, struct values in order or by name", function()
    local p <close> = etw.Provider("EtwLua.TemplateSpec")
    local t = request_template(p)
    local d1, m1, x1 = request_builder():bytes()
    local d2, m2, x2 = t:bytes(201, "/x", 0.5, {"10.0.0.1", 8443}, {"a", "b"})
    assert.equal(d1, d2)
    assert.equal(m1, m2)
    assert.equal(x1, x2)
    local _, _, x3 = t:bytes(201, "/x", 0.5, {Host = "10.0.0.1", Port = 8443}, {"a", "b"})
    assert.equal(x1, x3)
  end)

  it("takes every field type, _seq forms, out types, tags and descriptor options", function()
    local p <close> = etw.Provider("EtwLua.TemplateSpec")
    local opts = {level = 2, keyword = -1, opcode = 3, id = 700, version = 2,
                  tag = 0x0ABCDEF, task = 9, channel = 12}
    local t = p:event("All", opts,
      {"a", "zstr16"}, {"b", "zstr8", 0, 0x1234}, {"c", "int8_seq"}, {"d", "uint64"},
      {"e", "float32"}, {"f", "bool32"}, {"g", "binary_bytes"}, {"h", "guid"},
      {"i", "sid_bytes"}, {"j", "hexintptr_seq"}, {"k", "str16"},
      {"s", "struct", {{"m", "systemtime_bytes"}, {"n", "struct", {{"o", "cbinary_bytes"}}}}, 0x55})
    local g = "01234567-89ab-cdef-0123-456789abcdef"
    local sid = "\1\1\0\0\0\0\0\5\18\0\0\0"
    local st16 = ("\0"):rep(16)
    local eb = etw.EventBuilder()
    eb:reset("All", opts):add_zstr16("a", "h\u{e9}"):add_zstr8("b", "z", 0, 0x1234)
      :add_int8_seq("c", {-1, 2}):add_uint64("d", -1):add_float32("e", 1.5)
      :add_bool32("f", true):add_binary_bytes("g", "\0\1"):add_guid("h", g)
      :add_sid_bytes("i", sid):add_hexintptr_seq("j", {7}):add_str16("k", "x")
      :add_struct("s", 2, 0x55):add_systemtime_bytes("m", st16)
      :add_struct("n", 1):add_cbinary_bytes("o", "q")
    local d1, m1, x1 = eb:bytes()
    local d2, m2, x2 = t:bytes("h\u{e9}", "z", {-1, 2}, -1, 1.5, true, "\0\1", g, sid, {7},
                               "x", {st16, {o = "q"}})
    assert.equal(d1, d2)
    assert.equal(m1, m2)
    assert.equal(x1, x2)
  end)

  -- One sample value per add_X method; a method added to the EventBuilder
  -- without a sample here fails the test below.
  local g = "01234567-89ab-cdef-0123-456789abcdef"
  local samples = {
    zstr16 = "h\u{e9}", zstr16_bytes_utf16le = "h\0i\0", zstr8 = "z", zstr8_bytes = "zb",
    int8 = -5, uint8 = 200, int16 = -300, uint16 = 60000, int32 = -70000,
    uint32 = 4000000000, int64 = math.mininteger, uint64 = -1, float32 = 1.5,
    float64 = 0.25, bool32 = true, binary_bytes = "\0\1", guid = g,
    guid_bytes_le = ("\7"):rep(16), filetime_int64 = 132000000000000000,
    systemtime_bytes = ("\1"):rep(16), sid_bytes = "\1\1\0\0\0\0\0\5\18\0\0\0",
    hexint32 = 0xdeadbeef, hexint64 = 0x7fffffffffffffff, str16 = "x\u{263a}",
    str16_bytes_utf16le = "a\0", str8 = "s8", str8_bytes = "\255", cbinary_bytes = "cb",
    intptr = -2, uintptr = 3, hexintptr = 4,
  }

  it("takes every add_X type of the EventBuilder by name, and its _seq form", function()
    local p <close> = etw.Provider("EtwLua.TemplateSpec")
    local eb = etw.EventBuilder()
    local methods = {}
    for k in pairs(getmetatable(eb).__index) do
      if k:match("^add_") and k ~= "add_struct" then methods[#methods + 1] = k end
    end
    table.sort(methods)
    assert.equal(61, #methods) -- 31 types, 30 of them with a _seq form
    for _, method in ipairs(methods) do
      local ty = method:sub(5)
      local base = ty:gsub("_seq$", "")
      local v = samples[base]
      assert(v ~= nil, "no sample value for " .. method)
      if ty ~= base then v = {v, v} end
      -- default out type and no tag; then an out type and a tag
      for _, extra in ipairs({{}, {etw.OutType.HEX, 0x1234}}) do
        local t = p:event("T", {level = 3}, {"f", ty, extra[1], extra[2]})
        eb:reset("T", {level = 3})
        eb[method](eb, "f", v, extra[1], extra[2])
        local d1, m1, x1 = eb:bytes()
        local d2, m2, x2 = t:bytes(v)
        assert.equal(d1, d2, method)
        assert.equal(m1, m2, method)
        assert.equal(x1, x2, method)
      end
    end
  end)

  it("gives the builder's bytes for values the short integer and string forms decline", function()
    local p <close> = etw.Provider("EtwLua.TemplateSpec")
    local t = p:event("E", nil, {"i", "int32"}, {"u", "uint64"}, {"b", "uint8"}, {"s", "str8"},
                      {"c", "cbinary_bytes"})
    local eb = etw.EventBuilder()
    -- a float holding an integer, a uint64 of 2^63 given as a float, uint8's -1
    local _, _, x1 = eb:reset("E"):add_int32("i", 3.0):add_uint64("u", 0x1p63):add_uint8("b", -1)
      :add_str8("s", ""):add_cbinary_bytes("c", ("\0"):rep(300)):bytes()
    local _, _, x2 = t:bytes(3.0, 0x1p63, -1, "", ("\0"):rep(300))
    assert.equal(x1, x2)
    assert.has_error(function() t:bytes("42", 0, 0, "", "") end,
                     "E: field 'i': integer expected, got string")
    assert.has_error(function() t:bytes(3.5, 0, 0, "", "") end,
                     "E: field 'i': number has no integer representation")
    assert.has_error(function() t:bytes(0x80000000, 0, 0, "", "") end,
                     "E: field 'i': value must be -2147483648..2147483647")
    assert.has_error(function() t:bytes(0, 0.5, 0, "", "") end,
                     "E: field 'u': number has no 64-bit integer representation")
    assert.has_error(function() t:bytes(0, 0, 256, "", "") end,
                     "E: field 'b': value must be 0..255")
    assert.has_error(function() t:bytes(0, 0, 0, 7, "") end,
                     "E: field 's': string expected, got number")
    local ok, err = pcall(t.bytes, t, 0, 0, 0, ("x"):rep(70000), "")
    assert.is_false(ok)
    assert.matches("^E: field 's': ", err)
    local ok2, err2 = pcall(eb.add_str8, eb:reset("E"), "s", ("x"):rep(70000))
    assert.is_false(ok2)
    assert.equal(err2:match("%((.*)%)$"), err:match("^E: field 's': (.*)$")) -- the builder's rule
  end)

  it("builds its metadata once: the field list may change or go after p:event", function()
    local p <close> = etw.Provider("EtwLua.TemplateSpec")
    local spec = {"Status", "int32", etw.OutType.HEX}
    local members = {{"Host", "str8"}}
    local t = p:event("Once", nil, spec, {"Client", "struct", members})
    spec[1], spec[2], spec[3] = "Other", "str8", nil
    members[1] = {"Port", "uint16"}
    members[2] = {"Extra", "int8"}
    spec, members = nil, nil
    collectgarbage()
    collectgarbage()
    local eb = etw.EventBuilder()
    local d1, m1, x1 = eb:reset("Once"):add_int32("Status", 7, etw.OutType.HEX)
      :add_struct("Client", 1):add_str8("Host", "h"):bytes()
    local d2, m2, x2 = t:bytes(7, {"h"})
    assert.equal(d1, d2)
    assert.equal(m1, m2)
    assert.equal(x1, x2)
  end)

  it("reads no value when nobody listens (values are checked when written)", function()
    local p <close> = etw.Provider("EtwLua.TemplateSpec")
    local t = request_template(p)
    assert.is_false(t:is_enabled())
    assert.equal(0, t("not checked", nil, nil, nil, nil))
    assert.equal(0, t:write())
  end)

  it("t:close() ends the template; __tostring shows the state", function()
    local p <close> = etw.Provider("EtwLua.TemplateSpec")
    local t = request_template(p)
    assert.equal('etw.EventTemplate "RequestDone" (7 fields)', tostring(t))
    t:close()
    t:close() -- idempotent
    assert.equal("etw.EventTemplate (closed)", tostring(t))
    assert.has_error(function() t(1, "/x", 0.5, {"h", 1}, {}) end,
                     "attempt to use a closed etw.EventTemplate")
    assert.has_error(function() t:is_enabled() end, "attempt to use a closed etw.EventTemplate")
    do local t2 <close> = request_template(p) end -- <close> works too
  end)

  it("raises naming the field and the rule", function()
    local p <close> = etw.Provider("EtwLua.TemplateSpec")
    local t = request_template(p)
    assert.has_error(function() t:bytes("x", "/x", 0.5, {"h", 1}, {}) end,
                     "RequestDone: field 'Status': integer expected, got string")
    assert.has_error(function() t:bytes(1, "/x", 0.5, {"h", 70000}, {}) end,
                     "RequestDone: field 'Port': value must be 0..65535")
    assert.has_error(function() t:bytes(1, "/x", 0.5, {"h", 1}, {"a", 2}) end,
                     "RequestDone: field 'Tags': item 2: string expected, got number")
    assert.has_error(function() t:bytes(1, "/x", 0.5, 7, {}) end,
                     "RequestDone: field 'Client': table expected (members in order or by name), got number")
    assert.has_error(function() t:bytes(1, "/x") end,
                     "RequestDone: field 'Seconds': number expected, got no value")
  end)

  it("grows past its first buffer, up to the data limit", function()
    local p <close> = etw.Provider("EtwLua.TemplateSpec")
    local t = p:event("Big", nil, {"a", "cbinary_bytes"}, {"b", "cbinary_bytes"})
    local eb = etw.EventBuilder()
    for _, n in ipairs({10, 300, 32000}) do
      local a, b = ("x"):rep(n), ("y"):rep(n)
      local _, m1, x1 = eb:reset("Big"):add_cbinary_bytes("a", a):add_cbinary_bytes("b", b):bytes()
      local _, m2, x2 = t:bytes(a, b)
      assert.equal(m1, m2)
      assert.equal(x1, x2)
    end
    assert.has_error(function() t:bytes(("x"):rep(40000), ("y"):rep(40000)) end,
                     "Big: field 'b': event exceeds 65536 data bytes")
    local _, _, x = t:bytes("s", "t") -- still usable after the error
    assert.equal("\1\0s\1\0t", x)
  end)

  it("refuses bad field lists with the rule", function()
    local p <close> = etw.Provider("EtwLua.TemplateSpec")
    assert.has_error(function() p:event("E", nil, {"a", "int33"}) end,
                     "bad argument #3 to 'event' (unknown field type 'int33')")
    assert.has_error(function() p:event("E", nil, {"a", "binary_bytes_seq"}) end,
                     "bad argument #3 to 'event' (unknown field type 'binary_bytes_seq')")
    assert.has_error(function() p:event("E", nil, {"a", "struct", {}}) end,
                     "bad argument #3 to 'event' (struct 'a': field count must be 1..127)")
    assert.has_error(function() p:event("E", {level = 256}) end)
    assert.has_error(function() p:event("E", {bogus = 1}) end)
    assert.has_error(function() p:event("E", nil, {"a\0b", "int8"}) end,
                     "p:event: field name must not contain NUL")
    local many = {}
    for i = 1, 129 do many[i] = {"f" .. i, "uint8"} end
    assert.has_error(function() p:event("E", nil, table.unpack(many)) end)
    assert.is_not_nil(p:event("E", nil, table.unpack(many, 1, 128)))
  end)

  it("belongs to its provider: raises once the provider is closed", function()
    local p = etw.Provider("EtwLua.TemplateSpec")
    local t = request_template(p)
    assert.equal(0, t(201, "/x", 0.5, {"h", 1}, {}))
    p:close()
    assert.has_error(function() t(201, "/x", 0.5, {"h", 1}, {}) end,
                     "RequestDone: attempt to use a template of a closed etw.Provider")
    assert.has_error(function() t:is_enabled() end)
    assert.has_error(function() t:write(201, "/x", 0.5, {"h", 1}, {}) end)
    assert.has_error(function() p:event("E") end, "attempt to use a closed etw.Provider")
    assert.has_error(function() t.write(p) end,
                     "bad argument #1 to 'write' (etw.EventTemplate expected, got etw.Provider)")
  end)
end)

local counter = 0
local function unique(prefix)
  counter = counter + 1
  return string.format("%s-%d-%d", prefix, etw.pid(), counter)
end

describe_posix("etw.EventTemplate with a live session [#shm]", function()
  it("is enabled as the provider is, and a failed call writes nothing", function()
    local pname = unique("EtwLua.TemplateLive")
    local p <close> = etw.Provider(pname)
    local t = request_template(p)
    local other = p:event("Other", {level = 5, keyword = 0x2})
    assert.is_false(t:is_enabled())
    local s <close> = etw.Session(unique("tmpl"), { flush_ms = 10 })
    assert(s:start())
    s:enable(pname, { level = 4, any = 0x1 })
    local c <close> = assert(etw.Consumer { session = s.name })
    assert.is_true(t:is_enabled())
    assert.equal(p:is_enabled(4, 0x21), t:is_enabled())
    assert.is_false(other:is_enabled()) -- level 5 > 4
    assert.equal(0, t(201, "/x", 0.5, {"10.0.0.1", 8443}, {"a", "b"}))
    assert.has_error(function() t(202, "/y", 0.5, {"h", "not a port"}, {}) end)
    local act = "11111111-2222-3333-4444-555555555555"
    local rel = "66666666-7777-8888-9999-aaaaaaaaaaaa"
    assert.equal(0, t:write(203, "/z", 1.5, {Host = "h", Port = 1}, {}, act, rel))
    local seen = {}
    c:on({ provider = pname }, function(ev)
      seen[#seen + 1] = ev
      if #seen == 2 then c:stop() end
    end)
    local _, reason = c:run { timeout_ms = 10000 }
    assert.equal("stopped", reason)
    assert.equal(201, seen[1].fields.Status)
    assert.equal("/x", seen[1].fields.Path)
    assert.equal(8443, seen[1].fields.Client.Port)
    assert.equal("b", seen[1].fields.Tags[2])
    assert.equal(203, seen[2].fields.Status) -- 202 raised and wrote nothing
    assert.equal(act, seen[2].activity_id)
    assert.equal(rel, seen[2].related_activity_id)
    assert.is_nil(seen[1].activity_id)
    assert.equal(etw.Opcode.STOP, seen[2].opcode)
  end)
end)
