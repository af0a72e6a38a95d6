-- etwlua.filter: expressions over events, the sandbox (no io/os/load, no
-- assignments that outlive an event), compile errors, evaluation errors
-- raised or reported once through on_error.
local etw = require "etw"
local filter = require "etwlua.filter"

local p = etw.Provider("Spec.Filter")

local function event(name, level, status, path)
  local eb = etw.EventBuilder()
  eb:reset(name, { level = level })
  if status then eb:add_int32("Status", status):add_str8("Path", path or "/") end
  local _, meta, data = eb:bytes()
  return etw.decode_blobs(meta, data, p.traits, { level = level, pid = 100, tid = 7, timestamp = 1 })
end

describe("etwlua.filter.compile", function()
  local ok_ev = event("Request", 4, 200, "/a")
  local bad_ev = event("Request", 2, 503, "/b")
  local bare = event("Start", 4)

  it("sees ev and its properties as plain names", function()
    local f = assert(filter.compile("level <= 3 and fields.Status >= 500"))
    assert.is_false(f(ok_ev))
    assert.is_true(f(bad_ev))
    assert.is_true(assert(filter.compile("ev.pid == 100 and pid == 100 and tid == 7"))(ok_ev))
    assert.are.equal("Request", assert(filter.compile("name"))(ok_ev))
    assert.are.equal("Spec.Filter", assert(filter.compile("provider"))(ok_ev))
  end)

  it("has string, math, table, utf8, tostring, tonumber, type, pairs, ipairs, select, next, guid", function()
    local f = assert(filter.compile(
      "string.find(fields.Path, '^/b') and math.max(1, 2) == 2 and #table.pack(1, 2) == 2"
      .. " and utf8.char(65) == 'A' and tostring(1) == '1' and tonumber('2') == 2"
      .. " and type(fields) == 'table' and select('#', 1, 2) == 2 and next({}) == nil"
      .. " and guid('{B3864C38-4273-58C5-545B-8B3608343471}') == 'b3864c38-4273-58c5-545b-8b3608343471'"))
    assert.truthy(f(bad_ev))
    local n = assert(filter.compile("(function() local k = 0 for _ in pairs(fields) do k = k + 1 end"
      .. " for _ in ipairs(fields) do k = k + 1 end return k end)()"))
    assert.are.equal(4, n(bad_ev))
  end)

  it("has nothing else: no io, os, load, require, print, _G", function()
    for _, name in ipairs { "io", "os", "load", "require", "print", "_G", "dofile", "debug", "package" } do
      assert.is_nil(assert(filter.compile(name))(ok_ev), name)
    end
    local f = assert(filter.compile("os.exit(3)"))
    local ok, err = pcall(f, ok_ev)
    assert.is_false(ok)
    assert.matches("attempt to index a nil value %(global 'os'%)", err)
  end)

  it("cannot assign names: nothing leaks from one event to the next", function()
    local f = assert(filter.compile("(function() seen = true end)()"))
    local ok, err = pcall(f, ok_ev)
    assert.is_false(ok)
    assert.matches("filter cannot assign 'seen'", err)
  end)

  it("a syntax error is nil, message before anything runs", function()
    local f, err = filter.compile("level ==")
    assert.is_nil(f)
    assert.are.equal("filter:1: unexpected symbol near <eof>", err)
    f, err = filter.compile("1; os.exit(1)")
    assert.is_nil(f)
    assert.matches("^filter:1: ", err)
  end)

  it("an evaluation error is raised without on_error", function()
    local f = assert(filter.compile("fields.Status < 0"))
    local ok, err = pcall(f, bare)
    assert.is_false(ok)
    assert.are.equal("filter:1: attempt to compare nil with number", err)
  end)

  it("with on_error: reported once, and every failing event counts as false", function()
    local reports = {}
    local f = assert(filter.compile("fields.Status < 300", {
      on_error = function(msg) reports[#reports + 1] = msg end }))
    assert.is_false(f(bare))
    assert.is_true(f(ok_ev))
    assert.is_false(f(bare))
    assert.are.same({ "filter:1: attempt to compare nil with number" }, reports)
  end)

  it("misuse raises naming the argument", function()
    local ok, err = pcall(filter.compile, 42)
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'compile' %(filter expression string expected, got number%)", err)
    ok, err = pcall(filter.compile, "true", { onerror = print })
    assert.is_false(ok)
    assert.matches("compile: unknown option 'onerror' %(on_error%)", err)
    ok, err = pcall(filter.compile, "true", { on_error = 1 })
    assert.is_false(ok)
    assert.matches("option 'on_error' must be a function", err)
  end)
end)
