-- etwlua dump FILE...: print the events of .etl files (merged by time), as
-- text, JSON Lines or CSV, optionally filtered by provider, event name and
-- a Lua expression. Built on etwlua.filter and etw.EventWriter (the lines
-- of etwlua.format, written from C).
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { name = "dump", summary = "print the events of .etl files (text, JSON Lines, CSV; filters)" }

M.usage = [==[
usage: etwlua dump FILE... [--format text|json|csv] [-p PROVIDER]... [-e EVENT]...
                   [--filter EXPR] [--max-events N] [--manifest FILE|DIR]...]==]

M.details = [==[
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
                    Fast path: comparisons of fields with literals
                    (fields.Status >= 500; ==, <, <=, >, >=) and name == "X",
                    provider == "X", joined by `and`, are tested in C before
                    an event becomes a Lua object (same events printed; a
                    missing field is false there without a message)
  --max-events N    stop after N printed events
  --manifest M      decode manifest events (Windows providers such as
                    Microsoft-Windows-Kernel-*, HttpService, the .NET runtime)
                    with the instrumentation manifest M (.man file, or a
                    directory of them); repeatable, later ones win. Also read:
                    the directories of ETWLUA_MANIFEST_PATH (dir1:dir2, ';' on
                    Windows). A manifest that does not parse stops dump before
                    any event (FILE:LINE: rule, exit status 1). An event no
                    manifest describes is printed undecoded (its payload) and
                    reported once per provider/id/version on stderr
                    ("NO_SCHEMA: ..."). Without any manifest: the kernel
                    logger's records decode by a built-in table, and .NET
                    EventSource events by the manifest the trace itself
                    carries (event 65534, "ManifestData"; a broken one is one
                    warning on stderr and its events stay NO_SCHEMA).
  Corrupt records are reported on stderr ("etwlua dump: FILE: offset 0x...:
  why") and reading goes on.
  The lines are written from C (no Lua object per event unless the part of
  --filter that stays in Lua needs one); compressed files are decompressed
  on a helper thread as they are opened.
  Exit status: 0 all files read cleanly; 1 a file that cannot be opened or
  read, or output that cannot be written ("cannot write the output: IO:
  ..."; a pipe closed early ends dump by SIGPIPE unless it is ignored);
  2 usage error (bad option or value, bad filter expression); 3 read, but
  some records were corrupt.]==]

local function parse(args)
  local opts, rest = util.getopt(args,
    { format = "value", provider = "list", event = "list", filter = "value",
      ["max-events"] = "value", manifest = "list", help = "flag" },
    { ["-f"] = "format", ["-p"] = "provider", ["-e"] = "event", ["-h"] = "help" })
  if not opts then return nil, rest end
  if opts.help then return opts end
  if #rest == 0 then return nil, "give at least one .etl file" end
  opts.files = rest
  local fok, ferr = util.choice_option(opts, "format", "text", { "text", "json", "csv" })
  if not fok then return nil, ferr end
  local ok, err = util.int_option(opts, "max-events", 1)
  if not ok then return nil, err end
  return opts
end

-- The events lost while the files were recorded, as their headers say.
local function header_lost(c)
  local lost = 0
  for _, f in ipairs(c:info() or {}) do lost = lost + (f.events_lost or 0) end
  return lost
end

function M.run(args)
  local opts, pred = util.begin_filtered(M, parse, args)
  if not opts then return pred end      -- the exit status
  local c <close>, cerr = etw.Consumer { files = opts.files, manifests = opts.manifest }
  if not c then return util.fail("dump", cerr) end

  local out = io.stdout
  if not etw.isatty(out) then out:setvbuf("full") end
  -- The lines are formatted in C from each record (etw.EventWriter): no
  -- etw.Event is made unless the part of --filter left to Lua needs one.
  local w = etw.EventWriter(opts.format, out, {
    filter = pred, max_events = opts["max-events"],
    on_no_schema = function(msg)   -- once per provider/id/version
      out:flush()
      io.stderr:write("etwlua dump: ", msg, " (printed undecoded; --manifest gives schemas)\n")
    end })
  util.on_filtered(c, opts.provider, opts.event, w, opts.fast_filter)

  local corrupt = 0
  c:on_corrupt(function(msg, file)
    corrupt = corrupt + 1
    out:flush()
    io.stderr:write("etwlua dump: ", file or "?", ": ", msg, "\n")
  end)
  local _, rerr = c:run()
  local flushed, ferr = out:flush()
  if rerr ~= "stopped" and rerr ~= "interrupted" then
    return util.fail("dump", tostring(rerr))
  end
  local _, werr = w:error()
  if not werr and not flushed then werr = "IO: " .. tostring(ferr) end
  if werr then return util.fail("dump", "cannot write the output: " .. werr) end
  util.file_loss_hint("dump", header_lost(c))
  return corrupt > 0 and util.CORRUPT or util.OK
end

return M
