-- etwlua providers [PATTERN]: the kernel sources this machine can enable
-- (named providers with their events and keywords, then tracepoints).
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { name = "providers", summary = "list kernel sources: named providers and tracepoints" }

M.usage = "usage: etwlua providers [--named] [PATTERN]"

M.details = [[
  Lists what `-p` (and s:enable) take besides TraceLogging provider names:
  the named kernel providers (Linux-Kernel-Process, ...), one line per event
  with its keyword, level and tracepoint, then every tracepoint as
  tracepoint:GROUP:NAME (like `bpftrace -l`). PATTERN keeps the lines whose
  provider, event or PROVIDER/EVENT matches it, case-insensitively; `*` matches any text,
  `?` one character (quote it from the shell): 'tracepoint:sched:*',
  '*exec*'. --named lists only the named providers (no tracefs needed).
  Tracepoints need tracefs and root or CAP_PERFMON.
  Exit status: 0 ok (also when nothing matches); 1 tracepoints cannot be
  listed (the named providers were); 2 usage error.]]

-- A glob ('*', '?') as an anchored, case-insensitive Lua pattern.
local function glob(pattern)
  local p = pattern:lower():gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0")
  return "^" .. p:gsub("%*", ".*"):gsub("%?", ".") .. "$"
end

function M.run(args)
  local opts, rest = util.getopt(args, { help = "flag", named = "flag" }, { ["-h"] = "help" })
  if not opts then return util.usage_error(M, rest) end
  if opts.help then
    print(util.help_text(M))
    return util.OK
  end
  if #rest > 1 then return util.usage_error(M, "give at most one PATTERN") end
  local pat = rest[1] and glob(rest[1])
  local function wanted(s)
    return not pat or s.provider:lower():find(pat) or s.event:lower():find(pat) or
           (s.provider .. "/" .. s.event):lower():find(pat)
  end
  local list, err = etw.kernel_sources(not opts.named)
  if not list then
    -- the named providers are still there to list
    local named = etw.kernel_sources(false) or {}
    for _, s in ipairs(named) do
      if wanted(s) then
        print(string.format("%s/%s  keyword=0x%x level=%d  (%s)", s.provider, s.event, s.keyword,
                            s.level, s.tracepoint))
      end
    end
    return util.fail("providers", "tracepoints: " .. err)
  end
  local tps = {}
  for _, s in ipairs(list) do
    if wanted(s) then
      if s.provider:sub(1, 11) == "tracepoint:" then tps[#tps + 1] = s.provider
      else
        print(string.format("%s/%s  keyword=0x%x level=%d  (%s)", s.provider, s.event, s.keyword,
                            s.level, s.tracepoint))
      end
    end
  end
  table.sort(tps)
  for _, t in ipairs(tps) do print(t) end
  return util.OK
end

return M
