-- Helpers shared by the subcommands: option parsing, provider specs, output.
local etw = require "etw"
local filter = require "etwlua.filter"

local M = {}

local level_names = {
  always = 0, critical = 1, error = 2, warning = 3, info = 4, information = 4, verbose = 5,
}

-- "NAME[:level[:keywords]]" -> {provider=NAME, level=, any=}. level is a
-- number or a name (critical..verbose); keywords is a number (0x.. allowed).
-- Keywords default to every bit, so "enable X" shows all of X's events.
-- A kernel tracepoint's name has colons of its own: "tracepoint:GROUP:NAME"
-- is the name, then the same [:level[:keywords]].
function M.parse_provider(spec)
  local name, tail
  if spec:sub(1, 11):lower() == "tracepoint:" then
    local group, event, rest = spec:match("^[^:]+:([^:]+):([^:]+)(.*)$")
    if not group then
      return nil, "bad provider spec '" .. spec .. "' (tracepoint:GROUP:NAME[:level[:keywords]])"
    end
    name, tail = spec:sub(1, 11) .. group .. ":" .. event, rest
  else
    name, tail = spec:match("^([^:]+)(.*)$")
  end
  local level, kw
  if name then level, kw = tail:match("^:?([^:]*):?([^:]*)$") end
  if not level or (tail ~= "" and tail:sub(1, 1) ~= ":") then
    return nil, "bad provider spec '" .. spec .. "' (NAME[:level[:keywords]])"
  end
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
  local made, s = pcall(etw.Session, name, sopts)
  if not made then return nil, "cannot start session " .. name .. ": " .. tostring(s) end
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

-- JSON text of a Lua value: etw.json_encode, the one JSON writer (exact
-- 64-bit integers, "nan"/"inf", valid UTF-8, object keys sorted); a table
-- is an array when it has [1] or is marked with M.array_mt (so {} can be []).
M.array_mt = etw.json_array_mt
M.json = etw.json_encode

-- s with every byte that is not part of a valid UTF-8 sequence (strict:
-- no overlong forms, surrogates or code points above U+10FFFF) replaced by
-- `bad(byte)`.
function M.utf8_fix(s, bad)
  if utf8.len(s) then return s end
  local out, i = {}, 1
  while i <= #s do
    local n, at = utf8.len(s, i)
    if n then
      out[#out + 1] = s:sub(i)
      break
    end
    out[#out + 1] = s:sub(i, at - 1)
    out[#out + 1] = bad(s:byte(at))
    i = at + 1
  end
  return table.concat(out)
end

-- Text for a terminal: a backslash becomes "\\", control characters (C0,
-- DEL, and C1 as their UTF-8 bytes) and bytes that are not valid UTF-8
-- become "\xHH"; everything else is unchanged.
function M.escape_text(s)
  local hex = function(c) return string.format("\\x%02x", c:byte()) end
  s = s:gsub("\\", "\\\\"):gsub("[%c\127]", hex):gsub("\194[\128-\159]", function(c)
    return hex(c:sub(1, 1)) .. hex(c:sub(2))
  end)
  return M.utf8_fix(s, function(b) return string.format("\\x%02x", b) end)
end

-- Exit statuses of every command (README "Exit status").
M.OK, M.ERROR, M.USAGE, M.CORRUPT = 0, 1, 2, 3

-- An error while running: "etwlua CMD: msg" on stderr; returns M.ERROR.
function M.fail(cmd, msg)
  io.stderr:write("etwlua ", cmd, ": ", msg, "\n")
  return M.ERROR
end

-- A usage error of command module `cmd` ({name=, usage=}): the message,
-- the command's usage lines and where the full help is; returns M.USAGE.
function M.usage_error(cmd, msg)
  io.stderr:write("etwlua ", cmd.name, ": ", msg, "\n", cmd.usage, "\n",
                  "see `etwlua help ", cmd.name, "`\n")
  return M.USAGE
end

-- The full help of command module `cmd`: usage lines, then the details.
function M.help_text(cmd)
  return cmd.usage .. (cmd.details and ("\n" .. cmd.details) or "")
end

-- opts[key] as an integer lo..hi (hi nil: no upper bound), in place; nil,
-- message naming the option and the rule when it is not one.
function M.int_option(opts, key, lo, hi)
  local v = opts[key]
  if v == nil then return true end
  local n = math.tointeger(tonumber(v))
  if not n or n < lo or (hi and n > hi) then
    return nil, string.format("--%s must be an integer %s (got '%s')", key,
      hi and (lo .. ".." .. hi) or (">= " .. lo), tostring(v))
  end
  opts[key] = n
  return true
end

-- opts[key] one of `choices` (a list), `default` when absent, in place;
-- nil, "--key must be a, b or c" when it is something else.
function M.choice_option(opts, key, default, choices)
  local v = opts[key] or default
  for _, c in ipairs(choices) do
    if v == c then
      opts[key] = v
      return true
    end
  end
  local list = table.concat(choices, ", ", 1, #choices - 1) .. " or " .. choices[#choices]
  return nil, "--" .. key .. " must be " .. list
end

-- The predicate of a --filter expression for command `cmd` (a module with
-- name, usage): a run-time failure is reported on stderr and taken as
-- false; nil, "bad --filter expression: ..." when it does not compile.
function M.filter_option(cmd, expr)
  local pred, err = filter.compile(expr, { on_error = function(msg)
    io.stderr:write("etwlua ", cmd.name, ": --filter failed (taken as false): ", msg, "\n")
  end })
  if not pred then return nil, "bad --filter expression: " .. err end
  return pred
end

-- The start of a command that reads events with dump's options: parse
-- args, answer --help, compile --filter. Returns opts and the predicate
-- (nil without --filter, or when the whole expression is tested in C),
-- or nil and the exit status to return. The part of the expression that
-- a table filter tests in C (filter.fast) is left in opts.fast_filter for
-- on_filtered; the predicate is then the rest of it.
function M.begin_filtered(cmd, parse, args)
  local opts, err = parse(args)
  if not opts then return nil, M.usage_error(cmd, err) end
  if opts.help then print(M.help_text(cmd)) return nil, M.OK end
  local pred
  if opts.filter then
    pred, err = M.filter_option(cmd, opts.filter)          -- the whole: syntax errors
    if not pred then return nil, M.usage_error(cmd, err) end
    local fast, rest = filter.fast(opts.filter)
    if fast then
      opts.fast_filter = fast
      pred = rest and assert(M.filter_option(cmd, rest)) or nil
    end
  end
  return opts, pred
end

-- opts[key] as a number of seconds >= 0 (finite), in place.
function M.seconds_option(opts, key)
  local v = opts[key]
  if v == nil then return true end
  local d = tonumber(v)
  if not d or d < 0 or d ~= d or d == math.huge then
    return nil, string.format("--%s must be a number of seconds >= 0 (got '%s')", key, tostring(v))
  end
  opts[key] = d
  return true
end

-- --session NAME: 1..200 bytes (the engine's rule for session names).
function M.session_option(opts)
  local n = opts.session
  if n ~= nil and (#n < 1 or #n > 200) then
    return nil, "--session must be a name of 1..200 bytes"
  end
  return true
end

-- Ring sizing of the session options (capture, watch). Each producer
-- thread gets a ring of --buffers buffers of --buffer-kb KB (the engine's
-- min_buffers and buffer_kb); max_buffers keeps room for 64 such rings
-- (the engine's default count). The engine takes rings up to 1 GB; the
-- bound here keeps 64 of them within its 64 GB session limit.
M.RING_MAX_KB = 512 * 1024

function M.ring_options(opts)
  local ok, err = M.int_option(opts, "buffer-kb", 4, 16384)
  if ok then ok, err = M.int_option(opts, "buffers", 2, 16384) end
  if not ok then return nil, err end
  local kb, n = opts["buffer-kb"] or 64, opts.buffers or 32
  if kb * n > M.RING_MAX_KB then
    return nil, string.format("--buffers x --buffer-kb must be at most %d KB per ring (got %d x %d)",
                              M.RING_MAX_KB, n, kb)
  end
  local sopts = { buffer_kb = opts["buffer-kb"] }
  if opts.buffers then sopts.min_buffers, sopts.max_buffers = n, n * 64 end
  return sopts
end

-- The hint printed when a command ends with lost events: which option
-- sizes the rings, and how big they were.
-- A file session's rings are at least 1 MB whatever the options ask
-- (src/engine/shm/shm_session.c), so its hint says so.
function M.loss_hint(cmd, lost, opts, file_session)
  if not lost or lost == 0 then return end
  io.stderr:write(string.format(
    "etwlua %s: %d events lost; bigger rings lose fewer: --buffers N (now %d buffers of "
    .. "%d KB per producer thread%s) or --buffer-kb N\n",
    cmd, lost, opts.buffers or 32, opts["buffer-kb"] or 64,
    file_session and "; a file session's ring is at least 1 MB" or ""))
end

-- The hint for files whose headers count events lost while recording.
function M.file_loss_hint(cmd, lost)
  if lost > 0 then
    io.stderr:write(string.format("etwlua %s: the file headers count %d events lost while "
      .. "recording; record with bigger rings (etwlua capture --buffers N)\n", cmd, lost))
  end
end

-- Table filters (matched in C) for every provider x event combination of
-- the -p / -e lists (either may be nil: no restriction); {{}} for none.
function M.table_filters(providers, events)
  local list = {}
  for _, p in ipairs(providers or { false }) do
    for _, e in ipairs(events or { false }) do
      local f = {}
      if p then f.provider = p end
      if e then
        local id = math.tointeger(tonumber(e))
        if id then f.id = id else f.name = e end
      end
      list[#list + 1] = f
    end
  end
  return list
end

-- Register `handler` on consumer c for the -p / -e lists; an event that
-- matches several filters is handled once. fast (optional): the table
-- filter of filter.fast, tested in C together with each -p / -e filter.
-- handler may be an etw.EventWriter: it writes a record once by itself.
function M.on_filtered(c, providers, events, handler, fast)
  local last
  local once = handler
  if type(handler) == "function" then
    once = function(ev)
      if ev == last then return end
      last = ev
      return handler(ev)
    end
  end
  for _, f in ipairs(M.table_filters(providers, events)) do
    local can = true
    if fast then
      f.where = fast.where
      f.provider = f.provider or fast.provider  -- fast's provider is tested again in Lua
      can = not (fast.name and f.name and f.name ~= fast.name)
      f.name = f.name or fast.name
    end
    if can and next(f) then c:on(f, once) elseif can then c:on(once) end
  end
end

M.etw = etw
return M
