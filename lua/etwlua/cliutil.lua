-- Helpers shared by the subcommands: option parsing, provider specs, output.
local etw = require "etw"

local M = {}

local level_names = {
  always = 0, critical = 1, error = 2, warning = 3, info = 4, information = 4, verbose = 5,
}

-- "NAME[:level[:keywords]]" -> {provider=NAME, level=, any=}. level is a
-- number or a name (critical..verbose); keywords is a number (0x.. allowed).
-- Keywords default to every bit, so "enable X" shows all of X's events.
function M.parse_provider(spec)
  local name, level, kw = spec:match("^([^:]+):?([^:]*):?([^:]*)$")
  if not name then return nil, "bad provider spec '" .. spec .. "' (NAME[:level[:keywords]])" end
  local l = 5
  if level ~= "" then
    l = tonumber(level) or level_names[level:lower()]
    if not l or l < 0 or l > 255 or math.type(l) ~= "integer" then
      return nil, "bad level '" .. level .. "' in '" .. spec .. "' (0..255 or critical, error, warning, info, verbose)"
    end
  end
  local any = -1                          -- all 64 bits
  if kw ~= "" then
    any = math.tointeger(tonumber(kw))
    if not any then return nil, "bad keywords '" .. kw .. "' in '" .. spec .. "' (an integer, 0x... allowed)" end
  end
  return { provider = name, level = l, any = any }
end

-- Every "-p" spec of a command -> list of enables, or nil, message.
function M.parse_providers(specs)
  local enables = {}
  for _, spec in ipairs(specs) do
    local e, err = M.parse_provider(spec)
    if not e then return nil, err end
    enables[#enables + 1] = e
  end
  return enables
end

-- Start session `name` with options `sopts` and enable each provider of
-- `enables`. Returns the session (the caller closes it), or nil and a
-- message saying what failed; a session that started is stopped then.
function M.start_session(name, sopts, enables)
  local s = etw.Session(name, sopts)
  local ok, err = s:start()
  if not ok then return nil, "cannot start session " .. name .. ": " .. err end
  for _, e in ipairs(enables) do
    local eok, eerr = s:enable(e.provider, { level = e.level, any = e.any })
    if not eok then
      s:stop()
      return nil, "cannot enable " .. e.provider .. ": " .. eerr
    end
  end
  return s
end

-- Minimal getopt: spec maps option names to "flag" or "value"; short
-- aliases map to long names. Returns opts, positional, or nil, message.
function M.getopt(args, spec, aliases)
  local opts, rest, i = {}, {}, 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      table.move(args, i + 1, #args, #rest + 1, rest)
      break
    end
    local name, inline = a:match("^%-%-([%w-]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w-]+)$") or (aliases and aliases[a]) end
    if name then
      local kind = spec[name]
      if not kind then return nil, "unknown option '" .. a .. "'" end
      if kind == "flag" then
        opts[name] = true
      else
        local v = inline
        if not v then
          i = i + 1
          v = args[i]
          if not v then return nil, "option '" .. a .. "' needs a value" end
        end
        if kind == "list" then
          opts[name] = opts[name] or {}
          table.insert(opts[name], v)
        else
          opts[name] = v
        end
      end
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, "unknown option '" .. a .. "'"
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return opts, rest
end

-- Print rows (arrays of strings) as left-aligned columns.
function M.columns(out, header, rows)
  local width = {}
  for _, r in ipairs({ header, table.unpack(rows) }) do
    for c, v in ipairs(r) do width[c] = math.max(width[c] or 0, #tostring(v)) end
  end
  for _, r in ipairs({ header, table.unpack(rows) }) do
    local cells = {}
    for c, v in ipairs(r) do
      cells[c] = c == #r and tostring(v) or string.format("%-" .. width[c] .. "s", tostring(v))
    end
    out:write(table.concat(cells, "  "), "\n")
  end
end

-- JSON text of a Lua value, exact for 64-bit integers (beyond 2^53 they go
-- out as strings, as ev:json() does); object keys sorted; a table is an array
-- when it has [1] or is marked with M.array_mt (so that {} can be []).
M.array_mt = {}
local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function encode(v, out)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = json_string(v)
  elseif t == "number" then
    if math.type(v) == "integer" then
      out[#out + 1] = (v > 1 << 53 or v < -(1 << 53)) and '"' .. v .. '"' or tostring(v)
    elseif v ~= v or v == math.huge or v == -math.huge then
      out[#out + 1] = "null"
    else
      local short = string.format("%.15g", v)
      out[#out + 1] = tonumber(short) == v and short or string.format("%.17g", v)
    end
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "table" then
    if v[1] ~= nil or getmetatable(v) == M.array_mt then
      out[#out + 1] = "["
      for i, x in ipairs(v) do
        if i > 1 then out[#out + 1] = "," end
        encode(x, out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = json_string(k)
        out[#out + 1] = ":"
        encode(v[k], out)
      end
      out[#out + 1] = "}"
    end
  else
    out[#out + 1] = "null"
  end
end

function M.json(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

function M.fail(cmd, msg)
  io.stderr:write("etwlua ", cmd, ": ", msg, "\n")
  return 1
end

M.etw = etw
return M
