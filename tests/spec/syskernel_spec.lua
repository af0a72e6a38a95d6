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

describe("Linux-Kernel-* names", function()
  it("are not hashed into a TraceLogging id on Linux", function()
    if windows then
      -- the alias itself is tested in tests/unit/test_provider_resolve.c
      -- (ETW sessions are stubs under Wine)
      return pending("Linux only")
    end
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
