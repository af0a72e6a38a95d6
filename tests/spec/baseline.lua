-- baseline.lua: PerfView's baselines (*.baseline.txt next to the sample
-- traces: TraceEvent's decode, one "EVENT t: Provider/Task[/Opcode] PID=;
-- TID=; PName=; ProceNum=; DataLen=; Field=Value; ..." line per event)
-- compared with etwlua's events of the same trace: every baseline line of
-- the providers asked for must have an etwlua event with the same provider,
-- pid, tid, event name (TraceEvent's Task part, case-insensitively) and
-- field values. Used by manifest_spec (CLR events) and eventsource_spec.
local M = {}

local HEADER = { PID = true, TID = true, PName = true, ProceNum = true, DataLen = true }

-- One line -> {provider=, task=, rest= (the "/Opcode" part or ""), pid=, tid=, fields={k=text}}
function M.parse(line, providers)
  local ms, name, body = line:match("^EVENT ([%d,.]+): (%S+) (.*)$")
  if not name then return nil end
  local prov, task, rest
  for p in pairs(providers) do
    if name:sub(1, #p + 1) == p .. "/" then
      prov = p
      task, rest = name:sub(#p + 2):match("^([^/]+)(.*)$")
    end
  end
  if not prov then return nil end
  local l = { provider = prov, task = task, rest = rest, fields = {}, order = {}, text = name,
              ms = tonumber((ms:gsub(",", ""))) }
  for k, v in body:gmatch("([%w_]+)=(.-); ") do
    if k == "PID" then l.pid = tonumber(v)
    elseif k == "TID" then l.tid = tonumber(v)
    elseif not HEADER[k] then l.fields[k] = v; l.order[#l.order + 1] = k end
  end
  return l
end

local function prefix(v, t)
  if t:sub(-3) == "..." then return v:sub(1, #t - 3) == t:sub(1, -4) end
  return v == t
end

-- Does our field (value v, value-map name m) equal TraceEvent's text t?
function M.same(v, m, t)
  if m then   -- TraceEvent shows map names; bit maps joined by ", " or "|"
    local tt = t:gsub(", ", "|")
    if prefix(m, tt) then return true end
  end
  if type(v) == "boolean" then return tostring(v) == t:lower() end
  if type(v) == "number" then
    if math.type(v) == "float" then
      local n = tonumber((t:gsub(",", "")))
      return n ~= nil and math.abs(n - v) <= 1e-6 * math.max(1, math.abs(v))
    end
    local hex = t:match("^0x(%x+)$")
    local n = hex and math.tointeger(tonumber(hex, 16)) or math.tointeger(tonumber((t:gsub(",", ""))))
    if hex and #hex > 8 and not n then n = tonumber(hex:sub(1, -9), 16) << 32 | tonumber(hex:sub(-8), 16) end
    if not n then return false end
    return v == n or (v & 0xFFFFFFFF) == (n & 0xFFFFFFFF) and n < 0   -- TraceEvent: int32 -1 for 0xFFFFFFFF
  end
  if type(v) == "string" then return prefix(v, t) or prefix(v:lower(), t:lower()) end
  return false
end

-- Compare: lines (parsed) with events: a list of {provider=, name=, pid=,
-- tid=, ms= (since the trace's first record), fields=, mapped=function(k),
-- no_schema= (its NO_SCHEMA text)}. A line's event is the one of the same
-- provider, pid, tid and time (to the baseline's microsecond); it must have
-- TraceEvent's Task as its name (case-insensitively; event_renames maps
-- TraceEvent's to ours) and every field value (field_renames: TraceEvent
-- field -> ours; derived: TraceEvent fields not in the payload, skipped,
-- by name or as "Task/Opcode.Field"; no_fields: lines whose fields are not
-- compared, by their text "Provider/Task/Opcode").
-- Returns {unmatched = {"text (why)"}, no_schema = {"text: NO_SCHEMA ..."},
-- compared = n, named = {"Provider/Task.Field"}: fields TraceEvent shows by
-- names of its own enums where the manifest has no map (not compared)}.
function M.compare(lines, events, opts)
  local fr, er, derived = opts.field_renames or {}, opts.event_renames or {}, opts.derived or {}
  local by = {}
  for _, e in ipairs(events) do
    local k = e.provider .. "/" .. e.pid .. "/" .. e.tid
    by[k] = by[k] or {}
    table.insert(by[k], e)
  end
  local r = { unmatched = {}, no_schema = {}, compared = #lines, named = {} }
  local named = {}
  local function check(l, e)
    local want = (er[l.provider .. "/" .. l.task] or l.task):lower()
    if not e.name or e.name:lower() ~= want then return false, "name " .. tostring(e.name) end
    local n = {}
    if opts.no_fields and opts.no_fields[l.text] then return true end
    for _, k in ipairs(l.order) do
      if not derived[k] and not derived[l.task .. l.rest .. "." .. k] then
        local ours = fr[k] or k
        local v, t, m = e.fields[ours], l.fields[k], e.mapped(ours)
        if v == nil and k:match("_%d+$") then
          n[#n + 1] = "(array element) " .. l.provider .. "/" .. l.task .. "." .. k
        elseif v == nil and (t == "" or t == "False" or t == "Unknown" or t:match("^0x0+$") or t == "0") then
          -- TraceEvent reads a field of a newer version than the event's as its default
          n[#n + 1] = "(default of a newer version) " .. l.provider .. "/" .. l.task .. "." .. k
        elseif v == nil then
          return false, "no field " .. ours
        elseif not M.same(v, m, t) then
          if type(v) == "number" and t:match("^%a[%w_, |]*%.?%.?%.?$") and (m == nil or t:find("|", 1, true)) then
            n[#n + 1] = l.provider .. "/" .. l.task .. "." .. k
          else
            return false, k .. ": " .. tostring(v) .. (m and "(" .. m .. ")" or "") .. " ~= " .. t
          end
        end
      end
    end
    for _, x in ipairs(n) do named[x] = true end
    return true
  end
  for _, l in ipairs(lines) do
    local found, why, nos = false, "name: no event of that provider, pid, tid and time", nil
    for _, e in ipairs(by[l.provider .. "/" .. l.pid .. "/" .. l.tid] or {}) do
      if not e.used and math.abs(e.ms - l.ms) <= 0.0011 then
        if e.no_schema then
          nos = e.no_schema
        else
          local ok, w = check(l, e)
          if ok then e.used, found = true, true break end
          if not why:match("^name") or not w:match("^name") then why = w end
        end
      end
    end
    if not found and nos then r.no_schema[#r.no_schema + 1] = l.text .. ": " .. nos
    elseif not found then r.unmatched[#r.unmatched + 1] = l.text .. " (" .. why .. ")" end
  end
  for k in pairs(named) do r.named[#r.named + 1] = k end
  table.sort(r.named)
  return r
end

-- The events of `path` from the providers asked for (names as keys), with
-- their fields read, for compare(). opts: manifests= for the consumer.
function M.events(etw, path, providers, opts)
  local c = assert(etw.Consumer { files = path, manifests = opts and opts.manifests })
  local out, t0 = {}, nil
  for ev in c:events() do
    t0 = t0 or ev.timestamp
    if ev.provider and providers[ev.provider] then
      local de = ev.decode_error
      local e = { provider = ev.provider, name = ev.name, pid = ev.pid, tid = ev.tid,
                  ms = (ev.timestamp - t0) / 10000 }
      if de and de:match("^NO_SCHEMA") then
        e.no_schema = de
      elseif ev.name then
        e.fields = ev.fields
        e.mapped = function(k) return ev:mapped(k) end
      end
      out[#out + 1] = e
    end
  end
  c:close()
  return out
end

return M
