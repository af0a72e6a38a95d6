-- etwlua.format: writers that print events to a file handle as text, JSON
-- Lines or CSV, the formats of `etwlua dump` and `etwlua watch`.
--
--   local format = require "etwlua.format"
--   local write = format.csv(io.stdout)      -- writes the CSV header line now
--   c:on(write)                              -- then one line per event
--
-- Every writer is a function(ev) that writes one line to `out` (anything
-- with a :write method: io.stdout, a file from io.open, a table of yours).
local etw = require "etw"

local M = {}

-- The names format.new accepts, in the order usage texts list them.
M.names = { "text", "json", "csv" }

-- The CSV columns, also the header line.
M.csv_columns = { "timestamp", "provider", "event", "id", "level", "opcode", "pid", "tid",
                  "cpu", "fields" }

local function check_out(out, fname)
  if io.type(out) == "file" or (type(out) == "table" and type(out.write) == "function") then
    return
  end
  error("bad argument #1 to '" .. fname .. "' (file handle or table with a write method expected, got "
        .. (io.type(out) or type(out)) .. ")", 3)
end

-- pid or tid as text: "-" when the record has none (kernel PERFINFO records).
local function id_text(v)
  return v == nil and "-" or tostring(v)
end

-- One CSV cell (RFC 4180): quoted when it holds a comma, quote or newline.
function M.csv_cell(v)
  v = v == nil and "" or tostring(v)
  if v:find('[,"\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

-- text: "TIME PID/TID Provider/Event(level= keyword=) fields" (tostring(ev)
-- after the ISO 8601 UTC time; "-" for what the event does not carry).
function M.text(out)
  check_out(out, "text")
  return function(ev)
    out:write(etw.iso_time(ev.timestamp) or "-", " ", id_text(ev.pid), "/", id_text(ev.tid),
              " ", tostring(ev), "\n")
  end
end

-- json: one ev:json() object per line (JSON Lines).
function M.json(out)
  check_out(out, "json")
  return function(ev) out:write(ev:json(), "\n") end
end

-- csv: the header line (unless opts.header == false), then per event
-- timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields; fields is
-- ev:json("fields"), so 64-bit values stay exact; absent values are empty.
function M.csv(out, opts)
  check_out(out, "csv")
  if not (opts and opts.header == false) then
    out:write(table.concat(M.csv_columns, ","), "\n")
  end
  local cell = M.csv_cell
  return function(ev)
    out:write(etw.iso_time(ev.timestamp) or "", ",", cell(ev.provider or ev.provider_id), ",",
              cell(ev.name), ",", ev.id, ",", ev.level, ",", ev.opcode, ",",
              ev.pid or "", ",", ev.tid or "", ",", ev.cpu or "", ",",
              cell(ev:json("fields")), "\n")
  end
end

-- new(name, out [, opts]) -> writer, or nil, message for an unknown name.
function M.new(name, out, opts)
  local make = (name == "text" or name == "json" or name == "csv") and M[name]
  if not make then
    return nil, "unknown format '" .. tostring(name) .. "' (" .. table.concat(M.names, ", ") .. ")"
  end
  return make(out, opts)
end

return M
