-- etwlua providers / etw.user_providers (issue 12): the TraceLogging
-- providers that running processes of this user registered, kept right
-- when a process unregisters, exits, or is killed without a word.
local etw = require "etw"

local windows = package.config:sub(1, 1) == "\\"
local describe_linux = windows and function(name) pending(name .. ": Linux engine only") end
                       or describe

local exe = os.getenv("ETWLUA_EXE") or arg[-1]

local sh = require("testutil").sh

-- The pids listing provider `name`, from etw.user_providers().
local function pids_of(name)
  local pids = {}
  for _, r in ipairs(assert(etw.user_providers())) do
    if r.name == name then pids[#pids + 1] = r.pid end
  end
  return pids
end

-- Poll until pred() (at most `secs`).
local function until_true(pred, secs)
  local t0 = etw.now()
  while not pred() do
    if etw.now() - t0 > secs * 1e7 then return false end
    etw.sleep(0.05)
  end
  return true
end

local function runtime_dir()
  return os.getenv("ETWLUA_RUNTIME_DIR")
end

describe_linux("registered providers", function()
  it("a provider of this process is listed with its guid and pid until it is closed", function()
    local name = "Test.Reg.Self." .. etw.pid()
    local p = etw.Provider(name)
    local found
    for _, r in ipairs(assert(etw.user_providers())) do
      if r.name == name then found = r end
    end
    assert.is_not_nil(found)
    assert.are.equal(etw.pid(), found.pid)
    assert.are.equal((etw.providerid_from_name(name):lower():gsub("[{}]", "")), found.guid:lower())
    p:close()
    assert.are.same({}, pids_of(name))
  end)

  it("etwlua providers lists another process's provider; a killed process's is dropped", function()
    local name = "Test.Reg.Child." .. etw.pid()
    local code = string.format([[local etw = require "etw"
      local p = etw.Provider(%q); etw.sleep(30)]], name)
    local child = assert(etw.spawn({ exe, "-e", code }))
    local ok = until_true(function() return #pids_of(name) > 0 end, 10)
    local out = sh(exe .. " providers --registered 'test.reg.child.*' 2>&1")
    local other = sh(exe .. " providers --registered 'nomatch.*' 2>&1")
    child:kill("SIGKILL")
    child:wait(5000)
    assert.is_true(ok, "the child's provider was never listed")
    assert.is_truthy(out:find(name .. "  " .. (etw.providerid_from_name(name):lower():gsub("[{}]", "")) ..
                              "  pid " .. child.pid, 1, true), out)
    assert.is_falsy(other:find(name, 1, true))
    -- killed: no unregister ran; the listing drops it and removes its file
    assert.are.same({}, pids_of(name))
    local dir = runtime_dir()
    if dir then
      local f = io.open(dir .. "/providers." .. child.pid)
      if f then f:close() end
      assert.is_nil(f, "providers." .. child.pid .. " left behind")
    end
  end)

  it("two processes with one provider name: one line, both pids", function()
    local name = "Test.Reg.Two." .. etw.pid()
    local p = etw.Provider(name)
    local code = string.format([[local etw = require "etw"
      local p = etw.Provider(%q); etw.sleep(30)]], name)
    local child = assert(etw.spawn({ exe, "-e", code }))
    local ok = until_true(function() return #pids_of(name) == 2 end, 10)
    local out = sh(exe .. " providers --registered 'Test.Reg.Two.*' 2>&1")
    child:kill("SIGKILL")
    child:wait(5000)
    local after = pids_of(name)                      -- the listing also removes the killed one's file
    p:close()
    assert.is_true(ok, "not both pids listed")
    assert.are.same({ etw.pid() }, after)
    local a, b = etw.pid(), child.pid
    if b < a then a, b = b, a end
    assert.is_truthy(out:find("pid " .. a .. "," .. b, 1, true), out)
  end)
end)
