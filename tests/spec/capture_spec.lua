-- File-mode sessions (etw.Session{mode="file"|"circular"}) on the Linux
-- session engine: an etw.Provider's events, written to an ETL file by the
-- session owner's writer thread, read back through etw.Consumer{files=...}
-- equal to what was written (header fields and every value); flush,
-- circular windows, rotation, s:wait, final statistics after s:stop.
local etw = require "etw"

local windows = package.config:sub(1, 1) == "\\"
local describe_posix = windows and pending or describe

local counter = 0
local function unique(prefix)
  counter = counter + 1
  return string.format("%s-%d-%d", prefix, etw.pid(), counter)
end

-- A fresh path for an ETL file (os.tmpname makes the name unique).
local function tmp_etl()
  local base = os.tmpname()
  os.remove(base)
  return base .. ".etl"
end

local function size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

-- Every event of provider `name` in `files`, keyed by its field n.
local function read_events(files, name)
  local c = assert(etw.Consumer { files = files })
  local got, count, errors = {}, 0, {}
  c:on({ provider = name }, function(ev)
    local n = ev.fields.n
    got[n] = { text = tostring(ev), json = ev:json(), ev = {
      id = ev.id, level = ev.level, opcode = ev.opcode, keyword = ev.keyword, task = ev.task,
      version = ev.version, channel = ev.channel, pid = ev.pid, tid = ev.tid,
      activity_id = ev.activity_id, related_activity_id = ev.related_activity_id,
      provider_id = ev.provider_id, timestamp = ev.timestamp } }
    count = count + 1
  end)
  c:on_corrupt(function(message) errors[#errors + 1] = message end)
  local _, reason = c:run()
  c:close()
  assert.are.same({}, errors)                      -- every record read cleanly
  return got, count, reason
end

-- Event i of a varied set: several names, field types, levels, keywords,
-- opcodes; activity ids on some, related ids on fewer.
local function build(eb, i)
  local kind = i % 4
  if kind == 0 then
    eb:reset("Ints", { level = 4, keyword = 0x1, opcode = 1, id = 10 })
      :add_int64("n", i):add_int32("neg", -i):add_uint64("big", -1):add_hexint32("hex", i * 16)
  elseif kind == 1 then
    eb:reset("Text", { level = 5, keyword = 0x2, task = 3 })
      :add_int64("n", i):add_str8("s8", "text " .. i):add_zstr16("s16", "wide ü " .. i)
      :add_cbinary_bytes("bin", string.rep("\0\1\255", i % 5))
  elseif kind == 2 then
    eb:reset("Mixed", { level = 2, keyword = 0x8000000000000004, opcode = 2, version = 1 })
      :add_int64("n", i):add_float64("half", i / 2):add_bool32("odd", i % 2 == 1)
      :add_guid("g", "01234567-89ab-cdef-0123-456789abcdef")
      :add_struct("pt", 2):add_int32("x", i):add_int32("y", -i)
  else
    eb:reset("Seqs", { level = 3, keyword = 0x10 })
      :add_int64("n", i):add_uint16_seq("u16", { 1, 2, i % 65536 })
      :add_str8_seq("words", { "a", "bb", tostring(i) }):add_filetime_int64("ft", 132539328000000000)
  end
end

describe_posix("etw.Session file modes [#shm]", function()
  it("writes a Provider's events to an ETL file that reads back equal", function()
    local name, file = unique("capture"), tmp_etl()
    local pname = unique("Capture.Test")
    local p <close> = etw.Provider(pname)
    local s <close> = etw.Session(name, { mode = "file", file = file })
    assert(s:start())
    assert(s:enable(pname))
    assert.equal(65536, size(file))                -- header buffer written at start
    local eb, want, N = etw.EventBuilder(), {}, 2000
    local act, rel = etw.new_guid(), etw.new_guid()
    for i = 1, N do
      build(eb, i)
      local a = i % 3 == 0 and act or nil
      local r = i % 9 == 0 and rel or nil
      assert.equal(0, p:write(eb, a, r))
      want[i] = { text = tostring(eb:decode(p)), act = a, rel = r, id = p.id }
    end
    s:stop()
    local st = s:stats()
    assert.equal(N, st.events)
    assert.equal(N, st.written)
    assert.equal(0, st.lost)
    assert.equal(1, st.files)
    assert.equal(0, st.file_error)
    assert.equal(size(file), st.file_bytes)
    local got, count, reason = read_events({ file }, pname)
    assert.equal("stopped", reason)
    assert.equal(N, count)
    local last_ts = 0
    for i = 1, N do
      local g = got[i]
      assert.is_not_nil(g, "event " .. i)
      assert.equal(want[i].text, g.text)           -- provider, name, level, keyword, every value
      assert.equal(etw.pid(), g.ev.pid)
      assert.equal(want[i].id, g.ev.provider_id)
      assert.equal(want[i].act, g.ev.activity_id)
      assert.equal(want[i].rel, g.ev.related_activity_id)
      assert.equal(11, g.ev.channel)
      assert.is_true(g.ev.timestamp >= last_ts)    -- one thread: times never go back
      last_ts = g.ev.timestamp
    end
    assert.equal(10, got[4].ev.id)
    assert.equal(1, got[4].ev.opcode)
    assert.equal(3, got[1].ev.task)
    assert.equal(1, got[2].ev.version)
    os.remove(file)
  end)

  it("has one consumer: its writer (a real-time consumer gets BUSY)", function()
    local name, file = unique("busy"), tmp_etl()
    local s <close> = etw.Session(name, { mode = "file", file = file })
    assert(s:start())
    local c, err, code = etw.Consumer { session = name }
    assert.is_nil(c)
    assert.equal("BUSY", code)
    assert.matches("file writer", err)
    assert.equal(etw.pid(), s:stats().consumer_pid)
    s:stop()
    os.remove(file)
  end)

  it("makes the file current on s:flush()", function()
    local name, file, pname = unique("flush"), tmp_etl(), unique("Flush.Test")
    local p <close> = etw.Provider(pname)
    local s <close> = etw.Session(name, { mode = "file", file = file })
    assert(s:start())
    s:enable(pname)
    local eb = etw.EventBuilder()
    for i = 1, 5 do build(eb, i) p:write(eb) end
    assert.equal(s, s:flush())
    local _, count = read_events({ file }, pname)
    assert.equal(5, count)
    assert.equal(5, s:stats().written)
    s:stop()
    os.remove(file)
  end)

  it("keeps the newest max_mb in circular mode and writes them at stop", function()
    local name, file, pname = unique("circ"), tmp_etl(), unique("Circ.Test")
    local p <close> = etw.Provider(pname)
    -- The ring holds all N events (64 x 64 KB > 20000 x ~150 bytes), so that
    -- "nothing lost" does not depend on the drain thread keeping up with the
    -- writer on a loaded machine; the file still wraps (3 MB into 1 MB).
    local s <close> = etw.Session(name, { mode = "circular", file = file, max_mb = 1,
                                          buffer_kb = 64, min_buffers = 64 })
    assert(s:start())
    s:enable(pname)
    local eb, N = etw.EventBuilder(), 20000
    for i = 1, N do
      eb:reset("Big", { level = 4 }):add_int64("n", i):add_str8("pad", string.rep("x", 100))
      p:write(eb)
    end
    assert.equal(65536, size(file))                -- nothing yet: an empty trace
    s:stop()
    local st = s:stats()
    assert.equal(N, st.written, "lost " .. tostring(st.lost) .. " events " .. tostring(st.events))
    assert.equal(0, st.lost)
    local got, count = read_events({ file }, pname)
    assert.is_true(count > 3000 and count < N, "kept " .. count)
    assert.is_not_nil(got[N])                      -- the newest are there
    assert.is_nil(got[1])                          -- the oldest are gone
    -- Whole buffers are evicted, one per CPU, as in ETW: when the producer
    -- moved between CPUs, a few older events can outlive newer ones, so the
    -- kept set is the newest range up to the buffers in flight, not exactly.
    local newest = 0
    for i = N - count + 1, N do if got[i] then newest = newest + 1 end end
    assert.is_true(newest >= count * 0.9, newest .. " of the newest " .. count)
    assert.is_true(size(file) <= (1 << 20))         -- never more than max_mb
    os.remove(file)
  end)

  it("rotates to name_1.etl, name_2.etl ... at max_mb", function()
    local name, file, pname = unique("rot"), tmp_etl(), unique("Rot.Test")
    local p <close> = etw.Provider(pname)
    local s <close> = etw.Session(name, { mode = "file", file = file, max_mb = 1 })
    assert(s:start())
    s:enable(pname)
    local eb, N = etw.EventBuilder(), 20000
    for i = 1, N do
      eb:reset("Big", { level = 4 }):add_int64("n", i):add_str8("pad", string.rep("y", 100))
      p:write(eb)
    end
    s:stop()
    local st = s:stats()
    assert.is_true(st.files >= 3, st.files .. " files")
    local files, total = {}, 0
    for i = 0, st.files - 1 do
      files[#files + 1] = i == 0 and file or file:gsub("%.etl$", "_" .. i .. ".etl")
      assert.is_true(size(files[#files]) <= 1 << 20)
      total = total + size(files[#files])
    end
    assert.equal(st.file_bytes, total)
    local got, count = read_events(files, pname)
    assert.equal(N, count)
    for i = 1, N do assert.is_not_nil(got[i]) end
    for _, f in ipairs(files) do os.remove(f) end
  end)

  it("s:wait() returns on timeout, or when stopped elsewhere", function()
    local name, file = unique("wait"), tmp_etl()
    local s <close> = etw.Session(name, { mode = "file", file = file })
    assert(s:start())
    assert.equal("timeout", s:wait(0.05))
    assert(etw.stop_session(name))
    assert.equal("stopped", s:wait())
    s:stop()                                       -- the writer closed the file already
    assert.equal(0, s:stats().written)
    os.remove(file)
  end)

  it("checks its options", function()
    assert.has_error(function() etw.Session("x", { mode = "file" }) end,
      "etw.Session: mode 'file' needs option 'file'")
    assert.has_error(function() etw.Session("x", { max_mb = 4 }) end,
      "etw.Session: option 'max_mb' needs mode 'file' or 'circular'")
    assert.has_error(function() etw.Session("x", { mode = "disk", file = "x" }) end)
    local ok, err, code = etw.Session(unique("nodir"), { mode = "file", file = "/nonexistent/dir/x.etl" }):start()
    assert.is_nil(ok)
    assert.equal("IO", code)
    assert.matches("/nonexistent/dir/x.etl: No such file", err)
    assert.has_error(function() etw.Session("x", { mode = "file", file = "x", file_mode = 420 }) end,
      'etw.Session: bad option \'file_mode\': must be an octal string such as "0644"')
    assert.has_error(function() etw.Session("x", { mode = "file", file = "x", file_mode = "0888" }) end,
      'etw.Session: bad option \'file_mode\': must be an octal string such as "0644"')
    assert.has_error(function() etw.Session("x", { mode = "file", file = "x", file_mode = "1777" }) end,
      'etw.Session: bad option \'file_mode\': must be permission bits 0001..0777 ("1777")')
    assert.has_error(function() etw.Session("x", { file_mode = "0600" }) end,
      "etw.Session: option 'file_mode' needs mode 'file' or 'circular'")
    assert.has_error(function()
      etw.Session("x", { mode = "circular", file = "x", max_mb = 1, buffer_kb = 1024 })
    end, "etw.Session: option 'max_mb' must hold at least 2 buffers of buffer_kb in mode 'circular'")
  end)

  it("makes files 0600 unless file_mode says otherwise", function()
    for _, case in ipairs { { nil, "600" }, { "0640", "640" } } do
      local name, file = unique("perm"), tmp_etl()
      local s <close> = etw.Session(name, { mode = "file", file = file, file_mode = case[1] })
      assert(s:start())
      s:stop()
      local f = assert(io.popen("stat -c %a '" .. file .. "'"))
      local got = f:read("l")
      f:close()
      assert.equal(case[2], got)
      os.remove(file)
    end
  end)

  -- An event over 64 KB can never be an ETL record: whatever buffer_kb, it
  -- reaches the session (p:write returns 0, as for the large buffers that
  -- always took it) and the writer counts it lost exactly once.
  it("counts an event over 64 KB lost once, with small buffers as with large", function()
    local pname = unique("Big.Test")
    local p <close> = etw.Provider(pname)
    local eb = etw.EventBuilder()
    for _, kb in ipairs { 4, 64 } do
      local name, file = unique("big"), tmp_etl()
      local s <close> = etw.Session(name, { mode = "file", file = file, buffer_kb = kb })
      assert(s:start())
      s:enable(pname)
      eb:reset("Small"):add_int64("n", 1)
      assert.equal(0, p:write(eb))
      eb:reset("Huge")
      for i = 1, 65 do eb:add_str8("f" .. i, string.rep("x", 1000)) end
      assert.equal(0, p:write(eb), "buffer_kb " .. kb)
      eb:reset("Small"):add_int64("n", 2)
      assert.equal(0, p:write(eb))
      s:stop()
      local st = s:stats()
      assert.same({ 3, 2, 1 }, { st.events, st.written, st.lost }, "buffer_kb " .. kb)
      local _, count = read_events({ file }, pname)
      assert.equal(2, count)
      os.remove(file)
    end
  end)
end)
