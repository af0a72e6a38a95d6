-- etwlua.filter: compile a filter expression (the `--filter` language of
-- `etwlua dump` and `etwlua watch`) into a predicate over events.
--
--   local filter = require "etwlua.filter"
--   local keep = assert(filter.compile("level <= 3 and fields.Size > 4096"))
--   if keep(ev) then ... end
--
-- The expression is one Lua expression. It sees `ev` and, as plain names,
-- the event's properties (level, pid, name, fields, ...), plus the safe
-- names listed in M.names and nothing else: no io, os, load, require.
local etw = require "etw"

local M = {}

-- What an expression may use besides `ev` and the event's properties.
M.names = { "string", "math", "table", "utf8", "tostring", "tonumber", "type", "pairs",
            "ipairs", "select", "next", "guid" }

local function base_env()
  return {
    string = string, math = math, table = table, utf8 = utf8, tostring = tostring,
    tonumber = tonumber, type = type, pairs = pairs, ipairs = ipairs, select = select,
    next = next, guid = etw.guid,
  }
end

-- compile(expr [, {on_error = function(message) end}]) -> predicate, or
-- nil, message when expr does not compile ("filter:1: ... near <eof>").
-- predicate(ev) returns the expression's value. An error while evaluating
-- it (a missing field, say) is raised; with on_error it is passed to
-- on_error the first time instead, and every failing event counts as false.
function M.compile(expr, opts)
  if type(expr) ~= "string" then
    error("bad argument #1 to 'compile' (filter expression string expected, got "
          .. type(expr) .. ")", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #2 to 'compile' (options table expected, got " .. type(opts) .. ")", 2)
  end
  local on_error = opts and opts.on_error
  for k in pairs(opts or {}) do
    if k ~= "on_error" then error("compile: unknown option '" .. tostring(k) .. "' (on_error)", 2) end
  end
  if on_error ~= nil and type(on_error) ~= "function" then
    error("compile: option 'on_error' must be a function", 2)
  end

  local env, current = base_env(), nil
  setmetatable(env, {
    __index = function(_, k)
      if k == "ev" then return current end
      return current and current[k]
    end,
    -- one expression, one event: nothing may leak into the next call
    __newindex = function(_, k) error("filter cannot assign '" .. tostring(k) .. "'", 2) end,
  })
  local chunk, err = load("return " .. expr, "=filter", "t", env)
  if not chunk then return nil, err end

  if not on_error then
    return function(ev)
      current = ev
      return chunk()
    end
  end
  local reported = false
  return function(ev)
    current = ev
    local ok, keep = pcall(chunk)
    if ok then return keep end
    if not reported then
      reported = true
      on_error(tostring(keep))
    end
    return false
  end
end

-- ---------------------------------------------------------------------------
-- The fast path: the part of an expression that a table filter of c:on
-- can test in C (before any Lua object is made).
--
-- fast(expr) -> tbl, rest | nil. When expr is a conjunction (`and` at the
-- top level, no `or` there) with at least one conjunct of the forms
--   fields.NAME OP literal, ev.fields.NAME OP literal, fields["NAME"] OP literal
--       (OP: == < <= > >=; literal: a number, -number or a quoted string;
--        either side may be the literal)
--   name == "X", ev.name == "X", provider == "X", ev.provider == "X"
-- tbl is the table filter {name =, provider =, where = {...}} of those, and
-- rest the other conjuncts as an expression (nil when none are left), to be
-- compiled and tested on the events tbl lets through. An event passes tbl
-- and rest exactly when it passes expr: a missing field or a value of
-- another type makes the C test false, as the Lua comparison then is false
-- or raises (which --filter takes as false). `~=` stays in Lua (nil ~= 5 is
-- true there). A provider test is also kept in rest, because the table
-- filter's `provider` matches the id hashed from the name too.

-- Tokens of expr: {kind, text, start, stop}; kinds: name, number, string,
-- op, or nil when expr uses what this scanner does not follow.
local function tokens(expr)
  local list, i, n = {}, 1, #expr
  while i <= n do
    local s, e = expr:find("^%s+", i)
    if s then i = e + 1 end
    if i > n then break end
    local c = expr:sub(i, i)
    local kind, stop
    if c:match("[%a_]") then
      stop = select(2, expr:find("^[%w_]+", i))
      kind = "name"
    elseif c:match("%d") or (c == "." and expr:sub(i + 1, i + 1):match("%d")) then
      stop = select(2, expr:find("^0[xX][%x%.]*[pP][%+%-]?%d+", i)) or
             select(2, expr:find("^0[xX][%x%.]*", i)) or
             select(2, expr:find("^[%d%.]*[eE][%+%-]?%d+", i)) or
             select(2, expr:find("^[%d%.]+", i))
      kind = "number"
    elseif c == '"' or c == "'" then
      local j = i + 1
      while j <= n do
        local d = expr:sub(j, j)
        if d == "\\" then j = j + 2
        elseif d == c then break
        elseif d == "\n" then return nil
        else j = j + 1 end
      end
      if j > n then return nil end
      stop, kind = j, "string"
    elseif expr:sub(i, i + 1) == "--" or expr:sub(i, i + 1) == "[[" or expr:sub(i, i + 1) == "[=" then
      return nil                                   -- comments, long strings
    else
      local two = expr:sub(i, i + 1)
      if two == "==" or two == "~=" or two == "<=" or two == ">=" or two == ".." or two == "//"
         or two == "::" or two == "<<" or two == ">>" then
        stop = i + 1
      else
        stop = i
      end
      kind = "op"
    end
    list[#list + 1] = { kind = kind, text = expr:sub(i, stop), start = i, stop = stop }
    i = stop + 1
  end
  return list
end

-- Split the tokens at top-level `and`; nil when a top-level `or` (or a
-- function body) makes that wrong.
local function conjuncts(toks)
  local parts, cur, depth = {}, {}, 0
  for _, t in ipairs(toks) do
    local x = t.text
    if t.kind == "name" and (x == "function" or (x == "or" and depth == 0)) then return nil end
    if t.kind == "op" and (x == "(" or x == "[" or x == "{") then depth = depth + 1 end
    if t.kind == "op" and (x == ")" or x == "]" or x == "}") then depth = depth - 1 end
    if t.kind == "name" and x == "and" and depth == 0 then
      if #cur == 0 then return nil end
      parts[#parts + 1], cur = cur, {}
    else
      cur[#cur + 1] = t
    end
  end
  if #cur == 0 or depth ~= 0 then return nil end
  parts[#parts + 1] = cur
  return parts
end

local function literal(toks, i, j)
  local neg = j - i == 1 and toks[i].text == "-"
  if neg then i = i + 1 end
  if i ~= j then return nil end
  local t = toks[i]
  if t.kind == "number" then
    local v = tonumber(t.text)
    if v == nil then return nil end
    return neg and -v or v
  elseif t.kind == "string" and not neg then
    local f = load("return " .. t.text, "=literal", "t", {})
    local ok, v = pcall(f or error)
    if ok and type(v) == "string" then return v end
  end
  return nil
end

-- What the tokens i..j read: "field", NAME | "name" | "provider" | nil.
local function subject(toks, i, j)
  local x = {}
  for k = i, j do x[#x + 1] = toks[k].kind == "string" and "S" or toks[k].text end
  local s = table.concat(x, " ")
  if s == "ev . name" or s == "name" then return "name" end
  if s == "ev . provider" or s == "provider" then return "provider" end
  if s:match("^ev %. ") then s, i = s:sub(6), i + 2 end
  if s:match("^fields %. [%a_][%w_]*$") then return "field", toks[i + 2].text end
  if s == "fields [ S ]" then return "field", literal(toks, i + 2, i + 2) end
  return nil
end

local flip = { ["<"] = ">", ["<="] = ">=", [">"] = "<", [">="] = "<=", ["=="] = "==" }
local where_op = { ["=="] = "=", ["<"] = "<", ["<="] = "<=", [">"] = ">", [">="] = ">=" }

-- One conjunct as {kind, name/value, op, value}, or nil.
local function test_of(toks)
  for k, t in ipairs(toks) do
    if t.kind == "op" and where_op[t.text] then
      local what, fname = subject(toks, 1, k - 1)
      local v = literal(toks, k + 1, #toks)
      local op = t.text
      if not what then
        what, fname = subject(toks, k + 1, #toks)
        v = literal(toks, 1, k - 1)
        op = flip[op]
      end
      if not what or v == nil then return nil end
      if what == "field" then
        if not fname then return nil end
        return { kind = "field", name = fname, op = where_op[op], value = v }
      end
      if op ~= "==" or type(v) ~= "string" then return nil end
      return { kind = what, value = v }
    end
  end
  return nil
end

function M.fast(expr)
  if type(expr) ~= "string" then
    error("bad argument #1 to 'fast' (filter expression string expected, got " .. type(expr) .. ")", 2)
  end
  if not load("return " .. expr, "=filter", "t", {}) then return nil end
  local toks = tokens(expr)
  local parts = toks and conjuncts(toks)
  if not parts then return nil end
  local tbl, where, rest, any = {}, {}, {}, false
  for _, part in ipairs(parts) do
    local t = test_of(part)
    local text = expr:sub(part[1].start, part[#part].stop)
    if t and t.kind == "field" then
      where[t.name] = where[t.name] or {}
      table.insert(where[t.name], { t.op, t.value })
      any = true
    elseif t and t.kind == "name" and (tbl.name == nil or tbl.name == t.value) then
      tbl.name, any = t.value, true
    elseif t and t.kind == "provider" and tbl.provider == nil then
      tbl.provider, any = t.value, true
      rest[#rest + 1] = text
    else
      rest[#rest + 1] = text
    end
  end
  if not any then return nil end
  if next(where) then tbl.where = where end
  return tbl, #rest > 0 and table.concat(rest, " and ") or nil
end

return M
