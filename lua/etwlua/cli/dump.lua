-- etwlua dump FILE...: print the events of .etl files (merged by time), as
-- text, JSON Lines or CSV, optionally filtered by provider, event name and
-- a Lua expression.
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { summary = "print the events of .etl files (text, JSON Lines, CSV; filters)" }

local usage = [==[
usage: etwlua dump FILE... [--format text|json|csv] [-p PROVIDER]... [-e EVENT]...
                   [--filter EXPR] [--max-events N]
  Prints every event of the files, several files merged by timestamp.
  -f, --format      text (default): "TIME PID/TID Provider/Event(...) fields";
                    json: one ev:json() object per line (JSON Lines);
                    csv: timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields
                    (fields as a JSON object)
  -p, --provider P  only provider P: a name (TraceLogging) or a GUID; repeatable
  -e, --event E     only events named E (or with id E when E is a number); repeatable
  --filter EXPR     only events for which the Lua expression EXPR is true. EXPR
                    sees `ev` and, as plain names, its fields (level, pid, name,
                    fields, ...), plus string, math, table, utf8, tostring,
                    tonumber, type, pairs, ipairs, select, next and guid().
                    Example: --filter 'level <= 3 and fields.Size > 4096'
  --max-events N    stop after N printed events
  Corrupt records are reported on stderr ("etwlua dump: FILE: offset 0x...:
  why") and reading goes on.
  Exit status: 0 all files read cleanly; 2 read, but some records were
  corrupt; 1 usage error, bad filter expression or a file that cannot be opened.]==]

local function parse(args)
  local opts, rest = util.getopt(args,
    { format = "value", provider = "list", event = "list", filter = "value",
      ["max-events"] = "value", help = "flag" },
    { ["-f"] = "format", ["-p"] = "provider", ["-e"] = "event", ["-h"] = "help" })
  if not opts then return nil, rest end
  if opts.help then return opts end
  if #rest == 0 then return nil, "give at least one .etl file" end
  opts.files = rest
  opts.format = opts.format or "text"
  if opts.format ~= "text" and opts.format ~= "json" and opts.format ~= "csv" then
    return nil, "--format must be text, json or csv"
  end
  if opts["max-events"] then
    opts.max = math.tointeger(tonumber(opts["max-events"]))
    if not opts.max or opts.max < 1 then return nil, "--max-events must be a positive integer" end
  end
  return opts
end

-- The --filter expression as a function(ev) -> truthy, or nil, message.
local function compile_filter(expr)
  local env = {
    string = string, math = math, table = table, utf8 = utf8, tostring = tostring,
    tonumber = tonumber, type = type, pairs = pairs, ipairs = ipairs, select = select,
    next = next, guid = etw.guid,
  }
  local current
  setmetatable(env, { __index = function(_, k) return current and current[k] end })
  local chunk, err = load("return " .. expr, "=filter", "t", env)
  if not chunk then return nil, err end
  return function(ev)
    env.ev = ev
    current = ev
    return chunk()
  end
end

-- Table filters (matched in C) for every provider x event combination.
local function table_filters(opts)
  local provs, evs = opts.provider or { false }, opts.event or { false }
  local list = {}
  for _, p in ipairs(provs) do
    for _, e in ipairs(evs) do
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

-- End (index of the closing brace) of the JSON object starting at i.
local function json_object_end(s, i)
  local depth = 0
  while true do
    local j, _, c = s:find('([{}"])', i)
    if not j then return #s end
    if c == '"' then
      repeat
        local k = s:find('["\\]', j + 1)
        if not k then return #s end
        if s:byte(k) == 92 then j = k + 1 else j = k end
      until s:byte(k) == 34
      i = j + 1
    elseif c == "{" then
      depth = depth + 1
      i = j + 1
    else
      depth = depth - 1
      if depth == 0 then return j end
      i = j + 1
    end
  end
end

local function fields_json(ev)
  local j = ev:json()
  local _, e = j:find(',"fields":', 1, true)
  if not e then return "{}" end
  return j:sub(e + 1, json_object_end(j, e + 1))
end

local function csv_cell(v)
  v = v == nil and "" or tostring(v)
  if v:find('[,"\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local function id_text(v)
  return v == nil and "-" or v == 0xFFFFFFFF and "-" or tostring(v)
end

local writers = {
  text = function(out, ev)
    out:write(etw.iso_time(ev.timestamp) or "-", " ", id_text(ev.pid), "/", id_text(ev.tid),
              " ", tostring(ev), "\n")
  end,
  json = function(out, ev) out:write(ev:json(), "\n") end,
  csv = function(out, ev)
    out:write(etw.iso_time(ev.timestamp) or "", ",", csv_cell(ev.provider or ev.provider_id), ",",
              csv_cell(ev.name), ",", ev.id, ",", ev.level, ",", ev.opcode, ",",
              ev.pid or "", ",", ev.tid or "", ",", ev.cpu or "", ",",
              csv_cell(fields_json(ev)), "\n")
  end,
}

function M.run(args)
  local opts, err = parse(args)
  if not opts then return util.fail("dump", err .. "\n" .. usage) end
  if opts.help then print(usage) return 0 end

  local pred
  if opts.filter then
    pred, err = compile_filter(opts.filter)
    if not pred then return util.fail("dump", "bad --filter expression: " .. err) end
  end
  local c <close>, cerr = etw.Consumer { files = opts.files }
  if not c then return util.fail("dump", cerr) end

  local out = io.stdout
  if not etw.isatty(out) then out:setvbuf("full") end
  local write = writers[opts.format]
  if opts.format == "csv" then
    out:write("timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields\n")
  end

  local printed, filter_failed, last = 0, false, nil
  local function handler(ev)
    if ev == last then return end        -- matched by two table filters
    last = ev
    if pred then
      local ok, keep = pcall(pred, ev)
      if not ok then
        if not filter_failed then
          filter_failed = true
          io.stderr:write("etwlua dump: --filter failed (taken as false): ", tostring(keep), "\n")
        end
        return
      end
      if not keep then return end
    end
    write(out, ev)
    printed = printed + 1
    if opts.max and printed >= opts.max then c:stop() end
  end
  for _, f in ipairs(table_filters(opts)) do
    if next(f) then c:on(f, handler) else c:on(handler) end
  end

  local corrupt = 0
  c:on_corrupt(function(msg, file)
    corrupt = corrupt + 1
    out:flush()
    io.stderr:write("etwlua dump: ", file or "?", ": ", msg, "\n")
  end)
  local _, rerr = c:run()
  out:flush()
  if rerr ~= "stopped" and rerr ~= "interrupted" then
    return util.fail("dump", tostring(rerr))
  end
  return corrupt > 0 and 2 or 0
end

return M
