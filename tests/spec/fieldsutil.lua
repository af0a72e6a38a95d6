-- fieldsutil.lua: what fields_fast_spec and fields_where_spec share:
-- deep equality of field values, the whole table's first value per name,
-- the Lua reading of a where table, and running a where / a --filter
-- expression both ways (in C and in Lua) over files.
local etw = require "etw"
local util = require "testutil"
local filter = require "etwlua.filter"

local M = {}

-- Deep equality of values as ev.fields holds them (NaN equals NaN).
function M.same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then return a == b or (a ~= a and b ~= b) end
  if type(a) ~= "table" then return a == b end
  if #a ~= #b then return false end
  local na, nb = {}, {}
  for k, v in pairs(a) do na[#na + 1] = { k, v } end
  for k, v in pairs(b) do nb[#nb + 1] = { k, v } end
  if #na ~= #nb then return false end
  for i = 1, #na do
    if na[i][1] ~= nb[i][1] or not M.same(na[i][2], nb[i][2]) then return false end
  end
  return true
end

-- The whole table's first value per name, in order: names, values.
function M.first_of_names(t)
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
function M.check_lazy(ev, names)
  local got = {}
  for i, n in ipairs(names) do got[i] = ev.fields[n] end
  local _, full = M.first_of_names(ev.fields)       -- pairs builds the table
  for i, n in ipairs(names) do
    if not M.same(got[i], full[n]) then
      return string.format("field %q: lazy %s, whole table %s", n, tostring(got[i]), tostring(full[n]))
    end
  end
  return nil
end

-- A file of events of many field types, for where= against Lua.
M.GUID = "01234567-89ab-cdef-0123-456789abcdef"
function M.make_file()
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
    eb:add_guid("G", M.GUID)
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
function M.lua_holds(v, op, k)
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

function M.lua_where(ev, where)
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
      if not M.lua_holds(v, op, k) then return false end
    end
  end
  return true
end

-- Event keys ("Req/17") selected by where (in C) and by Lua.
function M.both_ways(files, manifests, extra, where)
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
    if M.lua_where(ev, where) then by_lua[#by_lua + 1] = key(ev) end
  end)
  c:run()
  c:close()
  return by_c, by_lua
end

-- A where table as text for the test names.
function M.describe_where(w)
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

-- The events a --filter expression selects: all in Lua, or through
-- filter.fast (table filter in C + the rest in Lua).
function M.select_both(files, manifests, expr)
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


return M
