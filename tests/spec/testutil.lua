-- Shared helpers for the specs: where ../shared is, hex conversion.
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

return M
