-- mini_busted.lua: a small busted-compatible spec runner.
--
-- Why: on Linux the specs run under busted (`busted --lua=etwlua`), but busted
-- needs C modules (lfs, term, system) that the Windows cross build does not
-- have, so under Wine tests/CMakeLists.txt runs each spec through this file
-- inside etwlua.exe instead. It also works under the Linux etwlua:
--   etwlua tests/spec/mini_busted.lua [--helper=FILE] tests/spec/x_spec.lua...
-- Has describe/it/pending/setup/teardown (+ lazy_, strict_)/before_each/
-- after_each/finally, and an `assert` that is callable like the built-in one
-- and has the luassert subset the specs use, with luassert's modifier chains
-- (assert.are.equal, is_not.same, has_no.errors, has_error(fn [, msg]),
-- error_matches(fn, pattern), ...). No spy/stub/mock/match, async, tags.
-- Prints failures and pending tests, then "N passed, N failed, N skipped"
-- (pending = skipped); exits 1 if any test failed or none ran at all, else
-- 77 (ctest's SKIP_RETURN_CODE: Skipped, never Passed) if any was skipped.

local builtin_assert = assert
local unpack = table.unpack

-- ---------------------------------------------------------------- assertions

local function fmt(v, depth)
  depth = depth or 0
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  if depth >= 4 then return "{...}" end
  local keys = {}
  for k in next, v do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return type(a) < type(b)
  end)
  local parts = {}
  for i, k in ipairs(keys) do
    if i > 40 then parts[#parts + 1] = "..." break end
    local ks = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or "[" .. fmt(k, depth + 1) .. "]"
    parts[#parts + 1] = ks .. " = " .. fmt(v[k], depth + 1)
  end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

local function typed(v) return "(" .. type(v) .. ") " .. fmt(v) end

local function deep_same(a, b, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in next, a do
    if not deep_same(v, rawget(b, k), seen) then return false end
  end
  for k in next, b do
    if rawget(a, k) == nil then return false end
  end
  return true
end

-- strip "file:line: " as luassert does before comparing error messages
local function strip_pos(e)
  return type(e) == "string" and (e:gsub("^.-:%d+: ", "", 1)) or e
end

local function tostr(e)
  if type(e) == "number" or type(e) == "boolean" then return tostring(e) end
  local mt = getmetatable(e)
  if type(mt) == "table" and mt.__tostring then return tostring(e) end
  return e
end

-- name(s) -> { test(...) -> ok, detail; msg_at = index of the optional message }
local checks = {}
local function def(names, msg_at, what, test)
  for name in names:gmatch("%S+") do checks[name] = { msg_at = msg_at, what = what, test = test } end
end
def("equal equals", 3, "objects to be equal", function(e, a)
  return e == a, "Passed in:\n" .. typed(a) .. "\nExpected:\n" .. typed(e) end)
def("same", 3, "objects to be the same", function(e, a)
  return deep_same(e, a), "Passed in:\n" .. typed(a) .. "\nExpected:\n" .. typed(e) end)
def("true", 2, "value to be true", function(v) return v == true, "Passed in:\n" .. typed(v) end)
def("false", 2, "value to be false", function(v) return v == false, "Passed in:\n" .. typed(v) end)
def("nil", 2, "value to be nil", function(v) return v == nil, "Passed in:\n" .. typed(v) end)
def("truthy", 2, "value to be truthy", function(v) return not not v, "Passed in:\n" .. typed(v) end)
def("falsy", 2, "value to be falsy", function(v) return not v, "Passed in:\n" .. typed(v) end)
for _, t in ipairs { "number", "string", "table", "function", "boolean", "userdata", "thread" } do
  def(t, 2, "a " .. t, function(v) return type(v) == t, "Passed in:\n" .. typed(v) end)
end
def("near", 4, "values to be near", function(e, a, tol)
  return type(a) == "number" and a >= e - tol and a <= e + tol,
    "Passed in:\n" .. typed(a) .. "\nExpected:\n" .. typed(e) .. " +/- " .. tostring(tol) end)
def("matches match", 5, "string to match pattern", function(pat, s, init, plain)
  return type(s) == "string" and s:find(pat, init, plain) ~= nil,
    "Passed in:\n" .. typed(s) .. "\nPattern:\n" .. typed(pat) end)
def("error errors", 3, "a function to raise an error", function(fn, expected)
  builtin_assert(type(fn) == "function" or (getmetatable(fn) or {}).__call, "has_error: argument 1 must be callable")
  local ok, err = pcall(fn)
  err = strip_pos(err)
  local detail = ok and "No error was raised" or "Caught:\n" .. typed(err)
  if expected ~= nil then detail = detail .. "\nExpected error:\n" .. typed(expected) end
  if ok or expected == nil then return not ok, detail end
  if type(expected) == "string" then return tostr(err) == expected, detail end
  return deep_same(expected, err), detail
end)
def("error_matches matches_error", 5, "a function to raise an error matching", function(fn, pat, init, plain)
  local ok, err = pcall(fn)
  local detail = ok and "No error was raised" or "Caught:\n" .. typed(err)
  detail = detail .. "\nPattern:\n" .. typed(pat)
  if ok then return false, detail end
  if err == nil and pat == nil then return true, detail end
  err = tostr(err)
  return type(err) == "string" and err:find(pat, init, plain) ~= nil, detail
end)

local modifiers = { is = true, are = true, was = true, has = true, have = true, does = true, be = true,
                    a = true, an = true, to = true, ["not"] = false, no = false }

local resolve
local function chain(negate)
  return setmetatable({}, { __index = function(_, key) return resolve(tostring(key):lower(), negate) end })
end

local function checker(c, name, negate)
  return function(...)
    local args = table.pack(...)
    local ok, detail = c.test(...)
    if negate then ok = not ok end
    if ok then return ... end
    local msg = args[c.msg_at]
    if msg == nil then
      msg = "Expected " .. (negate and "not " or "") .. c.what .. " (assert." ..
            (negate and "not." or "") .. name .. ")\n" .. (detail or "")
    end
    error(msg, 2)
  end
end

function resolve(key, negate)
  if checks[key] then return checker(checks[key], key, negate) end
  local tok, rest = key:match("^([^_]+)_(.+)$")
  tok = tok or key
  if modifiers[tok] == nil then error("mini_busted: unknown assertion '" .. key .. "'", 3) end
  if modifiers[tok] == false then negate = not negate end
  if rest then return resolve(rest, negate) end
  return chain(negate)
end

assert = setmetatable({}, {
  __call = function(_, ...) -- the built-in assert, with its error position (level 2)
    if (...) then return ... end
    local msg = select("#", ...) < 2 and "assertion failed!" or select(2, ...)
    error(msg, type(msg) == "string" and 2 or 0)
  end,
  __index = function(_, key) return resolve(tostring(key):lower(), false) end,
})

-- -------------------------------------------------------------------- runner

local PENDING = {}
local passed, failed, skipped = 0, 0, 0
local collecting      -- block whose body is running (describe/it register into it)
local in_test         -- the running test's state ({finally = {...}})
local file_name

local function new_block(name, parent)
  return { name = name, parent = parent, children = {}, before_each = {}, after_each = {}, setup = {}, teardown = {} }
end

local function full_name(blk, leaf)
  local parts = { leaf }
  while blk do
    if blk.name then table.insert(parts, 1, blk.name) end
    blk = blk.parent
  end
  return table.concat(parts, " > ")
end

local function handler(e)
  if type(e) == "table" and e[PENDING] then return e end
  local lines = { tostring(e) }
  for line in debug.traceback("", 2):gmatch("[^\n]+") do
    if line:find("%.lua:%d+:") and not line:find("mini_busted%.lua") then lines[#lines + 1] = line end
  end
  if #lines > 1 then lines[2] = "stack traceback:\n" .. lines[2] end
  return table.concat(lines, "\n")
end

local function report_fail(name, err)
  failed = failed + 1
  print("FAIL " .. file_name .. ": " .. name .. "\n  " .. tostring(err):gsub("\n", "\n  "))
end

local function report_skip(name, why)
  skipped = skipped + 1
  print("PENDING " .. file_name .. ": " .. name .. (why and why ~= name and (": " .. why) or ""))
end

local function need_block(what)
  if not collecting or in_test then error(what .. " must be called in a describe block or at file level", 3) end
  return collecting
end

local function add_child(kind, name, fn)
  table.insert(need_block(kind).children, { kind = kind, name = tostring(name), fn = fn })
end

function describe(name, fn) add_child("describe", name, fn) end
context, insulate, expose = describe, describe, describe
function it(name, fn) add_child(fn and "it" or "pending", name, fn) end
spec, test = it, it
function pending(name)
  if in_test then error({ [PENDING] = true, msg = tostring(name) }, 2) end
  add_child("pending", name)
end
local function hook(list) return function(fn) table.insert(need_block(list)[list], fn) end end
before_each, after_each = hook("before_each"), hook("after_each")
setup, lazy_setup, strict_setup = hook("setup"), hook("setup"), hook("setup")
teardown, lazy_teardown, strict_teardown = hook("teardown"), hook("teardown"), hook("teardown")
function finally(fn)
  if not in_test then error("finally must be called inside a test", 2) end
  table.insert(in_test.finally, fn)
end

local function run_test(t, blk)
  local name = full_name(blk, t.name)
  local chain_, b, ok, err = {}, blk, true, nil
  while b do table.insert(chain_, 1, b); b = b.parent end
  in_test = { finally = {} }
  for _, c in ipairs(chain_) do
    for _, f in ipairs(c.before_each) do if ok then ok, err = xpcall(f, handler) end end
  end
  if ok then ok, err = xpcall(t.fn, handler) end
  local after = in_test.finally -- finally first, then after_each from the inside out
  for i = #chain_, 1, -1 do for _, f in ipairs(chain_[i].after_each) do after[#after + 1] = f end end
  for _, f in ipairs(after) do
    local ok2, err2 = xpcall(f, handler)
    if ok and not ok2 then ok, err = ok2, err2 end
  end
  in_test = nil
  if ok then passed = passed + 1
  elseif type(err) == "table" and err[PENDING] then report_skip(name, err.msg)
  else report_fail(name, err) end
end

local function run_block(blk, fn)
  collecting = blk
  local ok, err = xpcall(fn, handler)
  collecting = blk.parent
  if not ok then return report_fail(full_name(blk, "(describe body)"), err) end
  local runs = false
  for _, c in ipairs(blk.children) do runs = runs or c.kind ~= "pending" end
  local setup_ok, setup_err = true, nil
  for _, f in ipairs(runs and blk.setup or {}) do
    if setup_ok then setup_ok, setup_err = xpcall(f, handler) end
  end
  for _, c in ipairs(blk.children) do
    if c.kind == "pending" then report_skip(full_name(blk, c.name))
    elseif not setup_ok then report_fail(full_name(blk, c.name), "setup failed: " .. tostring(setup_err))
    elseif c.kind == "it" then run_test(c, blk)
    else run_block(new_block(c.name, blk), c.fn) end
  end
  for _, f in ipairs(runs and blk.teardown or {}) do
    local ok2, err2 = xpcall(f, handler)
    if not ok2 then report_fail(full_name(blk, "(teardown)"), err2) end
  end
end

-- each file runs insulated, as in busted: globals and modules it adds are dropped
local function run_file(path)
  file_name = path:match("[^/\\]+$") or path
  local globals, loaded = {}, {}
  for k, v in next, _G do globals[k] = v end
  for k in next, package.loaded do loaded[k] = true end
  local chunk, err = loadfile(path)
  if not chunk then report_fail("(load)", err)
  else run_block(new_block(nil, nil), chunk) end
  for k in next, package.loaded do if not loaded[k] then package.loaded[k] = nil end end
  for k in next, _G do if globals[k] == nil then _G[k] = nil end end
  for k, v in next, globals do _G[k] = v end
end

local files, i = {}, 1
while i <= #arg do
  local a = arg[i]
  if a:match("^%-%-helper=") then dofile(a:match("=(.*)"))
  elseif a == "-o" or a == "--output" then i = i + 1 -- output handler: ignored
  elseif a:match("^%-%-output=") or a == "-v" or a == "--verbose" then -- ignored
  elseif a:match("^%-") then
    io.stderr:write("mini_busted: unknown option ", a, "\n"); os.exit(2)
  else
    files[#files + 1] = a
  end
  i = i + 1
end
if #files == 0 then
  io.stderr:write("usage: etwlua mini_busted.lua [--helper=FILE] SPEC.lua...\n"); os.exit(2)
end
for _, f in ipairs(files) do run_file(f) end
print(string.format("%d passed, %d failed, %d skipped", passed, failed, skipped))
if passed + failed + skipped == 0 then print("mini_busted: no tests ran") end
if failed > 0 or passed + skipped == 0 then os.exit(1) end
os.exit(skipped > 0 and 77 or 0)
