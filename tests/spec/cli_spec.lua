-- The command line as a user runs it (ETWLUA_EXE in a subprocess): one
-- exit-status rule (0 ok, 1 error, 2 usage error, 3 corrupt records) and a
-- short usage message for every command's bad options and values; help CMD;
-- session names escaped in `sessions`; watch with dump's filters and
-- formats; --buffers and the loss hints; dump and info on files made by
-- capture; max_buffers on Linux; the examples of the Lua library.
local etw = require "etw"
local cjson = require "cjson"

local windows = package.config:sub(1, 1) == "\\"
local describe_posix = windows and pending or describe

local exe = os.getenv("ETWLUA_EXE")
local native = os.getenv("ETWLUA_NATIVE_PROVIDER")
local source = os.getenv("ETWLUA_SOURCE") or "."

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function cmdline(args)
  local words = { quote(assert(exe, "ETWLUA_EXE is not set")) }
  for i, a in ipairs(args) do words[i + 1] = quote(a) end
  return table.concat(words, " ")
end

-- Run etwlua with args; returns {status=, out=, err=}.
local function run(args)
  local out, err = os.tmpname(), os.tmpname()
  local _, how, code = os.execute(cmdline(args) .. " >" .. out .. " 2>" .. err .. " </dev/null")
  local r = { status = how == "exit" and code or 128 + code, out = slurp(out), err = slurp(err) }
  os.remove(out)
  os.remove(err)
  return r
end

local function sleep(s) os.execute("sleep " .. s) end

local function session_of(name)
  for _, s in ipairs(etw.sessions() or {}) do
    if s.name == name then return s end
  end
end

-- Start etwlua args in the background (it must start session `name`);
-- returns once the session has its providers and its consumer, with a
-- handle with :wait() -> {status, out, err} and :kill().
local function spawn(args, name)
  local base = os.tmpname()
  -- the status goes in by a rename: a reader never sees the file made
  -- but not yet written (tonumber("") is nil; it failed CI once)
  os.execute("(" .. cmdline(args) .. " >" .. base .. ".out 2>" .. base .. ".err </dev/null; echo $? >"
             .. base .. ".rc.part; mv " .. base .. ".rc.part " .. base .. ".rc) &")
  local h = { base = base }
  for _ = 1, 400 do
    local s = session_of(name)
    if s and s.providers > 0 and s.consumer_pid ~= 0 then
      h.pid = s.owner_pid
      break
    end
    if slurp(base .. ".rc") then break end          -- ended before starting its session
    sleep(0.05)
  end
  function h:wait()
    for _ = 1, 600 do                                -- 30 s: generous on a loaded machine
      local rc = slurp(base .. ".rc")
      if rc then
        local r = { status = tonumber(rc), out = slurp(base .. ".out"), err = slurp(base .. ".err") }
        for _, ext in ipairs { "", ".out", ".err", ".rc" } do os.remove(base .. ext) end
        return r
      end
      sleep(0.05)
    end
    self:kill()
    error("etwlua " .. table.concat(args, " ") .. " did not end")
  end
  function h:kill()
    if self.pid then os.execute("kill " .. math.tointeger(self.pid) .. " 2>/dev/null") end
  end
  return h
end

local function lines(s)
  local t = {}
  for l in (s or ""):gmatch("[^\n]*\n") do t[#t + 1] = l:sub(1, -2) end
  return t
end

describe_posix("etwlua commands: usage errors", function()
  -- The usage lines each command prints (as its help text starts).
  local usage = {
    sessions = "usage: etwlua sessions [--stale] [--json]\n",
    stop = "usage: etwlua stop NAME...\n       etwlua stop --stale [NAME...]\n",
    watch = "usage: etwlua watch -p NAME[:level[:keywords]] [-p ...] [--format text|json|csv]\n"
         .. "                    [-e EVENT]... [--filter EXPR] [--duration SECONDS]\n"
         .. "                    [--max-events N] [--session NAME] [--buffers N] [--buffer-kb N]\n",
    capture = "usage: etwlua capture -p NAME[:level[:keywords]] [-p ...] -o FILE\n"
           .. "                      [--mode file|circular] [--max-mb N] [--buffers N] [--buffer-kb N]\n"
           .. "                      [--file-mode MODE] [--duration SECONDS] [--session NAME]\n"
           .. "                      [-- command [args...]]\n",
    dump = "usage: etwlua dump FILE... [--format text|json|csv] [-p PROVIDER]... [-e EVENT]...\n"
        .. "                   [--filter EXPR] [--max-events N] [--manifest FILE|DIR]...\n",
    info = "usage: etwlua info FILE... [--format text|json] [--top N] [--manifest FILE|DIR]...\n",
    version = "usage: etwlua version\n",
    help = "usage: etwlua help [COMMAND]\n",
    guid = "usage: etwlua guid [--] NAME...\n",
  }

  local cases = {
    { "sessions", { "--bogus" }, "unknown option '--bogus'" },
    { "sessions", { "extra" }, "unexpected argument 'extra'" },
    { "stop", { "--bogus" }, "unknown option '--bogus'" },
    { "stop", {}, "give a session NAME or --stale" },
    { "watch", { "--bogus" }, "unknown option '--bogus'" },
    { "watch", {}, "give at least one provider with -p NAME" },
    { "watch", { "-p", "A", "stray" }, "unexpected argument 'stray'" },
    { "watch", { "-p", "A:loud" },
      "bad level 'loud' in 'A:loud' (0..255 or critical, error, warning, info, verbose)" },
    { "watch", { "-p", "A", "--duration", "-1" }, "--duration must be a number of seconds >= 0 (got '-1')" },
    { "watch", { "-p", "A", "--duration", "soon" }, "--duration must be a number of seconds >= 0 (got 'soon')" },
    { "watch", { "-p", "A", "--duration", "1e999" }, "--duration must be a number of seconds >= 0 (got '1e999')" },
    { "watch", { "-p", "A", "--max-events", "0" }, "--max-events must be an integer >= 1 (got '0')" },
    { "watch", { "-p", "A", "--max-events", "1.5" }, "--max-events must be an integer >= 1 (got '1.5')" },
    { "watch", { "-p", "A", "--format", "xml" }, "--format must be text, json or csv" },
    { "watch", { "-p", "A", "--buffers", "1" }, "--buffers must be an integer 2..16384 (got '1')" },
    { "watch", { "-p", "A", "--buffer-kb", "100000" }, "--buffer-kb must be an integer 4..16384 (got '100000')" },
    { "watch", { "-p", "A", "--buffers", "16384", "--buffer-kb", "64" },
      "--buffers x --buffer-kb must be at most 524288 KB per ring (got 16384 x 64)" },
    { "watch", { "-p", "A", "--session", "" }, "--session must be a name of 1..200 bytes" },
    { "watch", { "-p", "A", "--filter", "level ==" },
      "bad --filter expression: filter:1: unexpected symbol near <eof>" },
    { "capture", { "--bogus" }, "unknown option '--bogus'" },
    { "capture", { "-o", "x.etl" }, "give at least one provider with -p NAME" },
    { "capture", { "-p", "A", "-o", "x.etl", "--buffer-kb", "100000" },
      "--buffer-kb must be an integer 4..16384 (got '100000')" },
    { "capture", { "-p", "A", "-o", "x.etl", "--buffer-kb", "0" },
      "--buffer-kb must be an integer 4..16384 (got '0')" },
    { "capture", { "-p", "A", "-o", "x.etl", "--buffers", "16385" },
      "--buffers must be an integer 2..16384 (got '16385')" },
    { "capture", { "-p", "A", "-o", "x.etl", "--max-mb", "-1" },
      "--max-mb must be an integer 0..4194304 (got '-1')" },
    { "capture", { "-p", "A", "-o", "x.etl", "--duration", "x" },
      "--duration must be a number of seconds >= 0 (got 'x')" },
    { "capture", { "-p", "A", "-o", "x.etl", "--mode", "disk" }, "--mode must be file or circular" },
    { "dump", { "--bogus" }, "unknown option '--bogus'" },
    { "dump", {}, "give at least one .etl file" },
    { "dump", { "x.etl", "--max-events", "0" }, "--max-events must be an integer >= 1 (got '0')" },
    { "dump", { "x.etl", "--format", "xml" }, "--format must be text, json or csv" },
    { "dump", { "x.etl", "--filter", "level ==" },
      "bad --filter expression: filter:1: unexpected symbol near <eof>" },
    { "info", { "--bogus" }, "unknown option '--bogus'" },
    { "info", {}, "give at least one .etl file" },
    { "info", { "x.etl", "--top", "0" }, "--top must be an integer >= 1 (got '0')" },
    { "info", { "x.etl", "--format", "csv" }, "--format must be text or json" },
    { "version", { "extra" }, "unexpected argument 'extra'" },
    { "help", { "nope" }, "unknown command 'nope'" },
    { "help", { "dump", "info" }, "give one COMMAND" },
    { "guid", {}, "give at least one provider NAME" },
    { "guid", { "--bogus" }, "unknown option '--bogus'" },
  }

  for _, case in ipairs(cases) do
    local cmd, args, msg = case[1], case[2], case[3]
    it(cmd .. " " .. table.concat(args, " ") .. ": status 2, the message, usage lines, where help is", function()
      local r = run({ cmd, table.unpack(args) })
      assert.are.equal(2, r.status)
      assert.are.equal("", r.out)
      assert.are.equal("etwlua " .. cmd .. ": " .. msg .. "\n" .. usage[cmd]
                       .. "see `etwlua help " .. cmd .. "`\n", r.err)
    end)
  end

  it("the largest rings the options allow start (sparse memory, taken as rings fill)", function()
    local name = "spec-watch-big-" .. etw.pid()
    local r = run { "watch", "-p", "A", "--buffers", "16384", "--buffer-kb", "32", "--duration", "0",
                    "--session", name }
    assert.are.equal(0, r.status, r.err)
    r = run { "watch", "-p", "A", "--buffers", "2", "--buffer-kb", "16384", "--duration", "0",
              "--session", name }
    assert.are.equal(0, r.status, r.err)
  end)

  it("capture's usage errors make no file and leave no session", function()
    local dir = os.tmpname()
    os.remove(dir)
    local path = dir .. ".etl"
    local r = run { "capture", "-p", "A", "-o", path, "--buffer-kb", "100000", "--", "true" }
    assert.are.equal(2, r.status)
    assert.is_nil(slurp(path))
    for _, s in ipairs(etw.sessions()) do assert.is_nil(s.name:match("^etwlua%-capture")) end
  end)

  it("help CMD and CMD --help print the whole help, status 0", function()
    for _, cmd in ipairs { "sessions", "stop", "watch", "capture", "dump", "info", "version", "guid", "help" } do
      local r = run { "help", cmd }
      assert.are.equal(0, r.status, cmd)
      assert.are.equal(usage[cmd], r.out:sub(1, #usage[cmd]), cmd)
      assert.truthy(r.out:find("Exit status: ", 1, true), cmd)
      assert.are.equal(r.out, run({ cmd, "--help" }).out, cmd)
    end
  end)

  it("guid: names after --, several names with their ids", function()
    local r = run { "guid", "--", "-odd" }
    assert.are.equal(0, r.status, r.err)
    assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+\n$", r.out)
    r = run { "guid", "MyProvider", "\255" }
    assert.are.equal(1, r.status)
    assert.are.equal("etwlua guid: \\xff: provider name must be valid UTF-8\n", r.err)
  end)

  it("errors that are not usage errors are status 1", function()
    local r = run { "dump", "/nonexistent/x.etl" }
    assert.are.equal(1, r.status)
    assert.are.equal("etwlua dump: NOTFOUND: /nonexistent/x.etl: No such file or directory\n", r.err)
    r = run { "info", "/nonexistent/x.etl" }
    assert.are.equal(1, r.status)
    r = run { "stop", "no-such-session-" .. etw.pid() }
    assert.are.equal(1, r.status)
    assert.matches("^etwlua stop: no%-such%-session%-%d+: NOTFOUND", r.err)
  end)
end)

describe_posix("etwlua sessions: names as they are shown", function()
  it("text escapes control characters, backslashes and bytes that are not UTF-8", function()
    local name = "spec\n\27[31mred\255\\end\u{9b}-" .. etw.pid()
    local s <close> = etw.Session(name)
    assert(s:start())
    local r = run { "sessions" }
    assert.are.equal(0, r.status)
    local want = "spec\\x0a\\x1b[31mred\\xff\\\\end\\xc2\\x9b-" .. etw.pid() .. " "
    local found = false
    for _, l in ipairs(lines(r.out)) do
      if l:sub(1, #want) == want then found = true end
      assert.is_nil(l:find("[%c\127]"), "a control character in: " .. l)
    end
    assert.is_true(found, r.out)
  end)

  it("--json is valid UTF-8 (bad bytes as U+FFFD), names round-trip otherwise, integers exact", function()
    local name = "json\n\"q\"\255\u{e9}-" .. etw.pid()
    local s <close> = etw.Session(name)
    assert(s:start())
    local r = run { "sessions", "--json" }
    assert.are.equal(0, r.status)
    assert.truthy(utf8.len(r.out), "not valid UTF-8")
    local list = cjson.decode(r.out)
    local mine
    for _, e in ipairs(list) do
      if e.name:match("^json") then mine = e end
    end
    assert.is_table(mine)
    assert.are.equal("json\n\"q\"\u{fffd}\u{e9}-" .. etw.pid(), mine.name)
    assert.are.equal("running", mine.state)
    assert.truthy(r.out:find('"owner_pid":' .. etw.pid() .. ",", 1, true), r.out)
    assert.truthy(r.out:find('"lost":0,', 1, true), r.out)
  end)
end)

describe_posix("etwlua watch", function()
  local prov = "Spec.Cli.Watch" .. etw.pid()

  -- Write Drop/Keep events with n = 1..8 from this process.
  local function produce()
    local p <close> = etw.Provider(prov)
    local eb = etw.EventBuilder()
    for n = 1, 8 do
      eb:reset(n % 3 == 0 and "Drop" or "Keep"):add_int32("n", n):add_uint64("big", -1)
      p:write(eb)
    end
  end

  it("takes -e, --filter and --format csv: header, then exact rows, --max-events after the filters", function()
    local name = "spec-watch-csv-" .. etw.pid()
    local h = spawn({ "watch", "-p", prov, "-e", "Keep", "--filter", "fields.n % 2 == 0", "--format", "csv",
                      "--max-events", "3", "--session", name }, name)
    assert.is_number(h.pid, "watch did not start its session")
    produce()
    local r = h:wait()
    assert.are.equal(0, r.status, r.err)
    local l = lines(r.out)
    assert.are.equal(4, #l, r.out)
    assert.are.equal("timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields", l[1])
    for i, n in ipairs { 2, 4, 8 } do
      local t, rest = l[i + 1]:match("^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d%d%d%d%dZ),(.*)$")
      assert.is_string(t, l[i + 1])
      local pid, tid, tail = rest:match("^" .. prov:gsub("%.", "%%.") .. ",Keep,0,5,0,(%d+),(%d+),%d+,(.*)$")
      assert.are.equal(tostring(etw.pid()), pid, l[i + 1])
      assert.is_string(tid)
      assert.are.equal('"{""n"":' .. n .. ',""big"":""18446744073709551615""}"', tail)
    end
    assert.is_nil(session_of(name))
  end)

  it("text: time, pid/tid, then the event", function()
    local name = "spec-watch-text-" .. etw.pid()
    local h = spawn({ "watch", "-p", prov, "-e", "Drop", "--max-events", "1", "--session", name }, name)
    assert.is_number(h.pid, "watch did not start its session")
    produce()
    local r = h:wait()
    assert.are.equal(0, r.status, r.err)
    local want = " " .. etw.pid() .. "/%d+ " .. prov:gsub("%.", "%%.")
                 .. "/Drop%(level=5 keyword=0x1%) n=3 big=18446744073709551615\n$"
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z" .. want, r.out)
  end)

  it("--duration ends it with status 0 and removes its session", function()
    local name = "spec-watch-dur-" .. etw.pid()
    local h = spawn({ "watch", "-p", prov, "--duration", "1", "--session", name }, name)
    assert.is_number(h.pid, "watch did not start its session")
    local r = h:wait()
    assert.are.equal(0, r.status, r.err)
    assert.are.equal("", r.out)
    assert.is_nil(session_of(name))
  end)
end)

describe_posix("capture --buffers, loss hints, dump and info on its files", function()
  local tmp = os.tmpname()
  os.remove(tmp)
  local files = {}
  local function path(n)
    files[#files + 1] = tmp .. n .. ".etl"
    return files[#files]
  end
  teardown(function()
    for _, f in ipairs(files) do os.remove(f) end
  end)

  it("small rings lose events, and capture, dump and info say which option sizes them", function()
    local out = path("loss")
    -- The command stops capture (its parent, whose writer drains the rings)
    -- with SIGSTOP before it writes 50000 events of ~140 bytes: far more than
    -- the 1 MB a file session's ring holds at least, so events are lost
    -- whatever the machine's speed. It resumes capture on every path.
    local script = [[
      local etw = require 'etw'
      local f = assert(io.open('/proc/self/stat')); local st = f:read('a'); f:close()
      local ppid = assert(st:match('^%d+ %b() %S+ (%d+)'))
      local p <close> = etw.Provider('Spec.Cli.Loss')
      for _ = 1, 1000 do if p:is_enabled() then break end os.execute('sleep 0.01') end
      os.execute('kill -STOP ' .. ppid)
      local ok, err = pcall(function()
        local eb, pad = etw.EventBuilder(), string.rep('x', 100)
        for i = 1, 50000 do eb:reset('L'):add_int32('i', i):add_str8('pad', pad); p:write(eb) end
      end)
      os.execute('kill -CONT ' .. ppid)
      assert(ok, err)
    ]]
    local r = run { "capture", "-p", "Spec.Cli.Loss", "-o", out, "--buffers", "2", "--buffer-kb", "4",
                    "--", exe, "-e", script }
    assert.are.equal(0, r.status, r.err)
    local written, lost = r.err:match("etwlua capture: (%d+) events, (%d+) lost, ")
    assert.is_string(lost, r.err)
    assert.is_true(tonumber(lost) > 0, r.err)
    assert.are.equal(50000, tonumber(written) + tonumber(lost))
    assert.truthy(r.err:find("etwlua capture: " .. lost .. " events lost; bigger rings lose fewer: "
      .. "--buffers N (now 2 buffers of 4 KB per producer thread; a file session's ring is at "
      .. "least 1 MB) or --buffer-kb N\n", 1, true), r.err)

    r = run { "dump", out, "--max-events", "1" }
    assert.are.equal(0, r.status, r.err)
    assert.are.equal("etwlua dump: the file headers count " .. lost .. " events lost while recording; "
      .. "record with bigger rings (etwlua capture --buffers N)\n", r.err)
    r = run { "info", out }
    assert.are.equal(0, r.status, r.err)
    assert.truthy(r.out:find("\nevents lost:     " .. lost .. " (header)", 1, true), r.out)
    assert.truthy(r.err:find("the file headers count " .. lost .. " events lost", 1, true), r.err)
  end)

  it("no loss: no hint", function()
    local out = path("quiet")
    local r = run { "capture", "-p", "Spec.Cli.None", "-o", out, "--duration", "0" }
    assert.are.equal(0, r.status, r.err)
    assert.matches("^etwlua capture: 0 events, 0 lost, [^\n]+\n$", r.err)
  end)

  it("dump and info read what capture wrote: 64-bit values exact in every format", function()
    local out = path("values")
    local script = "local etw = require 'etw'; local p <close> = etw.Provider('Spec.Cli.Dump');"
      .. "local eb = etw.EventBuilder();"
      .. "for i = 1, 3 do eb:reset('V', {level = 4}):add_uint64('u', -i):add_int64('i', math.mininteger + i)"
      .. ":add_str8('s', 'a,\"b\"'); p:write(eb) end"
    local r = run { "capture", "-p", "Spec.Cli.Dump", "-o", out, "--buffers", "4", "--", exe, "-e", script }
    assert.are.equal(0, r.status, r.err)
    assert.matches("^etwlua capture: 3 events, 0 lost, ", r.err)

    r = run { "dump", "-f", "csv", "-e", "V", out }
    assert.are.equal(0, r.status, r.err)
    local l = lines(r.out)
    assert.are.equal(4, #l, r.out)
    assert.are.equal("timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields", l[1])
    assert.matches(',Spec%.Cli%.Dump,V,0,4,0,%d+,%d+,%d+,"{""u"":""18446744073709551615"",'
      .. '""i"":""%-9223372036854775807"",""s"":""a,\\""b\\""""}"$', l[2])
    assert.matches('""u"":""18446744073709551613"",""i"":""%-9223372036854775805""', l[4])

    r = run { "dump", "-f", "json", "-e", "V", "--max-events", "1", out }
    assert.are.equal(0, r.status, r.err)
    assert.truthy(r.out:find('"fields":{"u":"18446744073709551615","i":"-9223372036854775807","s":"a,\\"b\\""}', 1, true), r.out)

    r = run { "dump", "-e", "V", "--max-events", "1", out }
    assert.matches("^%d%d%d%d%-[%d%-T:.]+Z %d+/%d+ Spec%.Cli%.Dump/V%(level=4 keyword=0x1%) "
      .. 'u=18446744073709551615 i=%-9223372036854775807 s="a,\\"b\\""\n$', r.out)

    r = run { "info", out }
    assert.are.equal(0, r.status, r.err)
    assert.matches("\nevents by provider:\n +3  Spec%.Cli%.Dump {[%x%-]+}\n", r.out)
    assert.matches("\nevents by provider / event:\n +3  Spec%.Cli%.Dump / V\n", r.out)
  end)

  it("dump and info exit 3 when records were corrupt", function()
    local out = path("values")     -- the file of the test above
    local f = assert(io.open(out, "rb"))
    local bytes = f:read("a")
    f:close()
    -- the size of the first record of the second buffer becomes 0xFFFF
    local bsize = string.unpack("<I4", bytes, 1)
    local bad = path("bad")
    f = assert(io.open(bad, "wb"))
    f:write(bytes:sub(1, bsize + 72), string.pack("<I2", 0xFFFF), bytes:sub(bsize + 75))
    f:close()
    local r = run { "dump", bad }
    assert.are.equal(3, r.status, r.err)
    assert.matches("etwlua dump: " .. bad:gsub("%p", "%%%0") .. ": offset 0x", r.err)
    r = run { "info", bad }
    assert.are.equal(3, r.status, r.err)
  end)
end)

describe_posix("max_buffers on Linux", function()
  it("caps the producer-thread rings at max_buffers / min_buffers: a second process's events are lost", function()
    assert.is_string(native, "ETWLUA_NATIVE_PROVIDER is not set")
    for _, case in ipairs { { max = 2, events = 1, lost = 10 }, { max = 4, events = 11, lost = 0 } } do
      local s <close> = etw.Session("spec-maxbuf-" .. etw.pid(), { min_buffers = 2, max_buffers = case.max })
      assert(s:start())
      assert(s:enable("EtwLua.Native"))
      assert(s:enable("Spec.Cli.Rings"))
      local p <close> = etw.Provider("Spec.Cli.Rings")
      local eb = etw.EventBuilder()
      eb:reset("Mine"):add_int32("n", 1)
      assert.are.equal(0, p:write(eb))              -- this thread takes the first ring
      assert.is_true(os.execute(quote(native) .. " 10 >/dev/null"))
      local st = s:stats()
      assert.are.equal(case.max // 2, st.rings)
      assert.are.equal(case.events, st.events)
      assert.are.equal(case.lost, st.lost)
      s:stop()
    end
  end)
end)

describe_posix("p:is_enabled across sessions (the README's example)", function()
  it("is the merged check: true for an event no single session takes", function()
    local a <close> = etw.Session("spec-ie-a-" .. etw.pid())
    local b <close> = etw.Session("spec-ie-b-" .. etw.pid())
    assert(a:start())
    assert(b:start())
    local prov = "Spec.Cli.IsEnabled" .. etw.pid()
    assert(a:enable(prov, { level = 5, any = 0x1 }))
    assert(b:enable(prov, { level = 2, any = 0x2 }))
    local p <close> = etw.Provider(prov)
    assert.is_true(p:is_enabled(5, 0x2))      -- highest level 5, keyword in 0x1 | 0x2
    assert.is_false(p:is_enabled(5, 0x4))     -- no session has keyword 0x4
    local eb = etw.EventBuilder()
    eb:reset("E", { level = 5, keyword = 0x2 }):add_int32("n", 1)
    assert.are.equal(0, p:write(eb))
    assert.are.equal(0, a:stats().events)     -- A wants keyword 0x1
    assert.are.equal(0, b:stats().events)     -- B wants level <= 2
    eb:reset("E", { level = 2, keyword = 0x2 }):add_int32("n", 2)
    p:write(eb)
    assert.are.equal(1, b:stats().events)
  end)
end)

describe_posix("the examples of the Lua library", function()
  local function example(name, ...)
    return run { source .. "/examples/" .. name, ... }
  end

  it("examples/filter.lua keeps the events its expression selects", function()
    local r = example("filter.lua")
    assert.are.equal(0, r.status, r.err)
    assert.are.equal("kept 3 of 10 events for: fields.Status >= 500\n"
      .. "  500 /item/4\n  503 /item/6\n  504 /item/9\n", r.out)
    r = example("filter.lua", "level == 4 and fields.Path:find('1')")
    assert.are.equal("kept 2 of 10 events for: level == 4 and fields.Path:find('1')\n"
      .. "  200 /item/1\n  200 /item/10\n", r.out)
    r = example("filter.lua", "level ==")
    assert.are.equal(2, r.status)
    assert.are.equal("bad filter: filter:1: unexpected symbol near <eof>\n", r.err)
  end)

  it("examples/format.lua prints CSV with exact 64-bit values, and the other formats", function()
    local r = example("format.lua")
    assert.are.equal(0, r.status, r.err)
    local l = lines(r.out)
    assert.are.equal(3, #l, r.out)
    assert.are.equal("timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields", l[1])
    local a = l[2]:match("^[%d%-T:.]+Z,Example%.Format,Sizes,0,4,0,(%d+),%d+,%d+,"
      .. '"{""Max"":""18446744073709551615"",""Min"":""%-9223372036854775808"",'
      .. '""Note"":""quoted \\""text\\"", with a comma""}"$')
    assert.is_string(a, l[2])
    assert.matches('^[%d%-T:.]+Z,Example%.Format,Done,0,5,0,' .. a .. ',%d+,%d+,"{""Ok"":true}"$', l[3])
    r = example("format.lua", "text")
    assert.matches("^[%d%-T:.]+Z %d+/%d+ Example%.Format/Sizes%(level=4 keyword=0x1%) Max=18446744073709551615 ", r.out)
    r = example("format.lua", "xml")
    assert.are.equal(2, r.status)
    assert.are.equal("unknown format 'xml' (text, json, csv)\n", r.err)
  end)

  it("examples/every.lua prints on a timer and writes its events from it", function()
    local r = example("every.lua", "0.05")
    assert.are.equal(0, r.status, r.err)
    local l = lines(r.out)
    local last = table.remove(l)
    local ticks = tonumber(last:match("^30 events in (%d+) ticks %(stopped%)$"))
    assert.is_number(ticks, last)
    assert.are.equal(ticks, #l)       -- one line per tick
    assert.is_true(ticks >= 4, r.out) -- 3 batches written, then one to see them all
    for i, line in ipairs(l) do
      local seen, written = line:match("^%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z  (%d+) of (%d+) events seen$")
      assert.is_string(seen, line)
      assert.are.equal(math.min(10 * (i - 1), 30), tonumber(written), line)
    end
    assert.matches("  30 of 30 events seen$", l[#l])
  end)

  it("examples/agg.lua prints counts, sums, maxima and histograms as tables with bars", function()
    local r = example("agg.lua")
    assert.are.equal(0, r.status, r.err)
    assert.are.equal([[
events per name:
Read   30 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
Write  10 |@@@@@@@@@@@@@                           |

bytes per (name, file), top 3:
Read, f2  5350 |@@@@@@@@@@@@@@@@@@@@|
Read, f1  5275 |@@@@@@@@@@@@@@@@@@@@|
Read, f0  3855 |@@@@@@@@@@@@@@      |
... (3 more)

largest:
Read   1444
Write  1296

bytes:
Read:
  [1]         1 |@@@@                          |
  [2, 4)      0 |                              |
  [4, 8)      1 |@@@@                          |
  [8, 16)     1 |@@@@                          |
  [16, 32)    2 |@@@@@@@@@                     |
  [32, 64)    2 |@@@@@@@@@                     |
  [64, 128)   3 |@@@@@@@@@@@@@                 |
  [128, 256)  3 |@@@@@@@@@@@@@                 |
  [256, 512)  5 |@@@@@@@@@@@@@@@@@@@@@         |
  [512, 1K)   7 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
  [1K, 2K)    5 |@@@@@@@@@@@@@@@@@@@@@         |

Write:
  [16, 32)    1 |@@@@@@@@@@@@@@@               |
  [32, 64)    0 |                              |
  [64, 128)   2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
  [128, 256)  1 |@@@@@@@@@@@@@@@               |
  [256, 512)  2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
  [512, 1K)   2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
  [1K, 2K)    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
]], r.out)
  end)
end)

describe("PERFINFO records in a Windows sample (../shared)", function()
  local shared = require("testutil").shared_dir()
  local sample = shared and shared .. "/etl-samples/s4/waasmedic.20251005_113019_195.etl"
  local function have()   -- only ../shared itself may be missing; its sample may not
    if not shared then
      pending("../shared absent (ETWLUA_SHARED)")
      return false
    end
    local f = assert(io.open(sample, "rb"))
    f:close()
    return true
  end

  it("print pid/tid as - in text, null in JSON, empty cells in CSV", function()
    if windows then pending("runs etwlua in a POSIX shell") return end
    if not have() then return end
    local sel = { "--filter", "header_kind == 'perfinfo'", sample }
    local r = run { "dump", table.unpack(sel) }
    assert.are.equal(0, r.status, r.err)
    local l = lines(r.out)
    assert.are.equal(2, #l)
    assert.are.equal("2025-10-05T11:30:19.2015908Z -/- MSNT_SystemTrace/?(level=0 keyword=0x0)", l[1])
    r = run { "dump", "-f", "json", table.unpack(sel) }
    assert.truthy(r.out:find('"pid":null,"tid":null,"cpu":0,', 1, true), r.out)
    r = run { "dump", "-f", "csv", table.unpack(sel) }
    assert.are.equal("2025-10-05T11:30:19.2015908Z,MSNT_SystemTrace,,0,0,66,,,0,{}", lines(r.out)[2])
  end)

  it("ev.pid and ev.tid are nil for them in Lua", function()
    if not have() then return end
    local c <close> = assert(etw.Consumer { files = sample })
    local seen = 0
    c:on(function(ev)
      if ev.header_kind == "perfinfo" then
        seen = seen + 1
        assert.is_nil(ev.pid)
        assert.is_nil(ev.tid)
        assert.are.equal(0, ev.cpu)
      end
    end)
    c:run()
    assert.are.equal(2, seen)
  end)
end)
