-- tdh_schema.lua: builds TRACE_EVENT_INFO blobs (what TdhGetEventInformation
-- returns) for tests: tdh_spec.lua and the fuzz seeds of fuzz_tdh_walk.
local M = {}

function M.utf16(s)
  return (s:gsub(".", function(c) return c .. "\0" end)) .. "\0\0"
end

-- TRACE_EVENT_INFO (x64 offsets, spec windows-etw §5.3): 112-byte head,
-- 24-byte EVENT_PROPERTY_INFO entries, then the UTF-16 strings.
function M.tei(t)
  local strings, offsets = {}, {}
  local base = 112 + 24 * #t.props
  local function add(s)
    if not s then return 0 end
    local off = base
    for _, x in ipairs(strings) do off = off + #x end
    strings[#strings + 1] = M.utf16(s)
    return off
  end
  offsets.provider = add(t.provider)
  offsets.task = add(t.task)
  offsets.opcode = add(t.opcode)
  offsets.event = add(t.event)
  local names = {}
  for i, p in ipairs(t.props) do names[i] = add(p.name) end
  local head = string.rep("\0", 48)
    .. string.pack("<I4 I4 I4I4I4 I4 I4 I4I4I4I4 I4 I4 I4 I4 I4", t.source or 0, offsets.provider,
      0, 0, 0, offsets.task, offsets.opcode, 0, 0, 0, 0, offsets.event, 0, #t.props,
      t.top or #t.props, 0)
  assert(#head == 112)
  local body = {}
  for i, p in ipairs(t.props) do
    body[i] = string.pack("<I4 I4 I2 I2 I4 I2 I2 I4", p.flags or 0, names[i],
      p.start or p.intype or 0, p.members or p.outtype or 0, 0, p.count or 1, p.length or 0, 0)
  end
  return head .. table.concat(body) .. table.concat(strings)
end

M.IN = { unicodestring = 1, ansistring = 2, uint8 = 4, uint16 = 6, int32 = 7, uint32 = 8,
             bool = 13, guid = 15, pointer = 16, filetime = 17, hexint32 = 20 }
M.PF = { struct = 1, param_length = 2, param_count = 4, fixed_count = 0x20 }

return M
