-- busted helper (--helper): lets specs require shared test code from tests/spec/.
local dir = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
package.path = dir .. "/?.lua;" .. package.path

-- Under ctest (POSIX), every test's scratch files go to $TMPDIR, a directory
-- of the build that the leftovers.end test checks is empty when the run
-- ends. os.tmpname is the one Lua function with a fixed /tmp, so it is
-- pointed there too; like Lua's, it creates the file it names.
local tmpdir = os.getenv("TMPDIR")
if package.config:sub(1, 1) == "/" and os.getenv("ETWLUA_CHECK_LEFTOVERS") and tmpdir and tmpdir ~= "" then
  local pid = require("etw").pid()
  local count = 0
  os.tmpname = function()
    count = count + 1
    local path = string.format("%s/lua_%d_%d", tmpdir, pid, count)
    local f = assert(io.open(path, "w"))
    f:close()
    return path
  end
end
