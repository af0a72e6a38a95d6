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

return M
