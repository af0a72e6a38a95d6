-- System events, the Windows half of issue 12, as far as this machine can
-- check it: the `kernel` session option (NT kernel logger groups) is
-- validated on every platform and refused on Linux with a pointer to the
-- Linux-Kernel-* sources; "NT Kernel Logger" needs it; Linux-Kernel-* names
-- are never hashed into a TraceLogging provider nobody writes. What only
-- real Windows shows runs in `etwlua --selftest`.
local etw = require "etw"

local windows = package.config:sub(1, 1) == "\\"

describe("etw.Session option 'kernel'", function()
  it("names the option and lists the valid groups for an unknown group", function()
    local ok, err = pcall(etw.Session, "etwlua-k", { kernel = { "process", "proces" } })
    assert.is_false(ok)
    assert.matches("kernel", err, 1, true)
    assert.matches("proces", err, 1, true)
    for _, g in ipairs { "process", "thread", "image_load", "disk_io", "file_io", "network",
                         "registry", "cswitch" } do
      assert.matches(g, err, 1, true)
    end
  end)

  it("must be a non-empty list of names", function()
    for _, bad in ipairs { "process", {}, { 1 }, true } do
      local ok, err = pcall(etw.Session, "etwlua-k", { kernel = bad })
      assert.is_false(ok)
      assert.matches("option 'kernel'", err, 1, true)
    end
  end)

  it("is refused on Linux with a pointer to the Linux-Kernel-* sources", function()
    local ok, err = pcall(etw.Session, "etwlua-k", { kernel = { "process", "thread" } })
    if windows then
      assert.is_true(ok, err)
    else
      assert.is_false(ok)
      assert.matches("needs Windows", err, 1, true)
      assert.matches("Linux-Kernel-Process", err, 1, true)
    end
  end)

  it("is needed by the session \"NT Kernel Logger\" (any case)", function()
    for _, name in ipairs { "NT Kernel Logger", "nt kernel logger" } do
      local ok, err = pcall(etw.Session, name)
      assert.is_false(ok)
      assert.matches("needs option 'kernel'", err, 1, true)
    end
  end)
end)

-- Linux only (under Wine ETW sessions are stubs; the alias itself is
-- tested there by tests/unit/test_provider_resolve.c). Not `pending` on
-- Windows: that would mark the checks above Skipped too.
if windows then return end

describe("Linux-Kernel-* names", function()
  it("are not hashed into a TraceLogging id on Linux", function()
    local s <close> = etw.Session("etwlua-kalias-" .. etw.pid(), { flush_ms = 10 })
    assert(s:start())
    local ok, err, code = s:enable("Linux-Kernel-Process", { any = 0x10 })
    if etw.kernel_sources then
      -- the Linux kernel sources are built in: they take the name (or say
      -- why they cannot read the kernel), never the hash
      assert.is_true(ok == s or code == "ACCESS", tostring(err))
    else
      assert.is_nil(ok)
      assert.equal("UNSUPPORTED", code)
      assert.matches("Microsoft-Windows-Kernel-Process", err, 1, true)
    end
    s:stop()
  end)
end)

describe("examples/process_monitor.lua", function()
  local exe = os.getenv("ETWLUA_EXE")
  local src = os.getenv("ETWLUA_SOURCE") or "."
  local function run(args)
    local out = os.tmpname()
    local f = assert(io.popen(string.format("'%s' '%s/examples/process_monitor.lua' %s 2>'%s'",
                                            exe, src, args, out)))
    local stdout = f:read("a")
    local _, _, code = f:close()
    local e = assert(io.open(out))
    local stderr = e:read("a")
    e:close()
    os.remove(out)
    return code, stdout, stderr
  end

  it("refuses a bad duration with its usage (exit 2), before touching any session", function()
    assert(exe and exe ~= "", "ETWLUA_EXE is not set")
    for _, a in ipairs { "abc", "0", "-1", "inf", "1 2" } do
      local code, out, err = run(a)
      assert.equal(2, code, a)
      assert.equal("", out)
      assert.matches("^usage: etwlua examples/process_monitor.lua %[SECONDS%]", err)
    end
    local code, out = run("--help")
    assert.equal(0, code)
    assert.matches("^usage:", out)
  end)

  it("prints why it cannot enable the kernel source and exits 1", function()
    local code, out, err = run("1")
    if etw.kernel_sources then
      -- Linux kernel sources built in: it runs for 1 s (root) or says why
      -- it cannot read the kernel
      assert.is_true((code == 0 and out:find("process starts per image (timeout):", 1, true) ~= nil)
        or (code == 1 and err:find("^process_monitor: ACCESS") ~= nil), err)
      return
    end
    assert.equal(1, code)
    assert.equal("", out)
    assert.equal("process_monitor: UNSUPPORTED: Linux-Kernel-Process is a kernel source, which "
      .. "this build cannot read (no Linux kernel tracepoint support); on Windows it stands "
      .. "for Microsoft-Windows-Kernel-Process\n", err)
  end)
end)
