-- Shared helpers for the specs: where ../shared is, hex conversion, unique
-- names and scratch files.
local M = {}

-- Path of the shared/ folder, or nil (specs then call pending with the reason).
function M.shared_dir()
  local dir = os.getenv("ETWLUA_SHARED")
  if not dir or dir == "" then return nil end
  local f = io.open(dir .. "/DESIGN.md", "rb")
  if not f then return nil end
  f:close()
  return dir
end

function M.read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function M.tohex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function M.fromhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

-- A name no other case of this process uses: prefix-pid-n (etw.pid()).
local counter = 0
function M.unique(prefix)
  counter = counter + 1
  return string.format("%s-%d-%d", prefix, require("etw").pid(), counter)
end

-- Scratch files in one private directory (mktemp -d, POSIX), made on first
-- use: M.tmp(name) is its path for name; M.tmp_cleanup() removes it (call
-- it from the spec's teardown).
local tmpdir
function M.tmp(name)
  if not tmpdir then
    local f = assert(io.popen("mktemp -d"))
    tmpdir = f:read("l")
    f:close()
  end
  return tmpdir .. "/" .. name
end

function M.tmp_cleanup()
  if tmpdir then os.execute("rm -rf '" .. tmpdir .. "'") end
  tmpdir = nil
end

-- The output of the shell command cmd (io.popen), all of it.
function M.sh(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("a")
  f:close()
  return out
end

-- A fresh scratch file name, removed when the current test ends; pass the
-- spec's `finally` (busted's is not visible from a module). busted keeps only
-- the last `finally` a test registers, so that one removes every name made.
-- On Windows, mingw's os.tmpname names a file in the drive root: the name
-- is %TEMP%\etwlua-TAG-PID-N plus suffix (nil: none).
local made, made_count = {}, 0
function M.temp_path(finally, tag, suffix)
  local path
  if package.config:sub(1, 1) == "\\" then
    made_count = made_count + 1
    path = string.format("%s\\etwlua-%s-%d-%d%s", os.getenv("TEMP") or ".", tag or "tmp",
                         require("etw").pid(), made_count, suffix or "")
  else
    path = os.tmpname()
  end
  made[#made + 1] = path
  finally(function()
    for i = #made, 1, -1 do os.remove(made[i]); made[i] = nil end
  end)
  return path
end

-- For a spec that needs ../shared: the shared dir, or nil after declaring a
-- pending case that says it is absent (pass the describe block's `pending`).
function M.shared_or_pending(pending)
  local dir = M.shared_dir()
  if not dir then
    pending("need ../shared: ETWLUA_SHARED is not set or has no DESIGN.md, the samples are not available")
  end
  return dir
end

-- A file-handle stand-in that keeps what is written: :write(...) like a
-- file, :text() all of it so far.
function M.sink()
  local parts = {}
  return {
    write = function(self, ...)
      for i = 1, select("#", ...) do parts[#parts + 1] = tostring(select(i, ...)) end
      return self
    end,
    text = function() return table.concat(parts) end,
  }
end

return M
