-- etwlua providers [PATTERN]: what this machine can enable: the TraceLogging
-- providers running processes of this user registered, the named kernel
-- providers with their events and keywords, then tracepoints.
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { name = "providers",
            summary = "list providers: registered by running processes, kernel sources, tracepoints" }

M.usage = "usage: etwlua providers [--registered | --named] [PATTERN]"

M.details = [[
  Lists what `-p` (and s:enable) take: first the TraceLogging providers
  that running processes of this user registered, one line each as
  `NAME  GUID  pid PID[,PID...]`; then the named kernel providers
  (Linux-Kernel-Process, ...), one line per event with its keyword, level
  and tracepoint; then every tracepoint as tracepoint:GROUP:NAME (like
  `bpftrace -l`). PATTERN keeps the lines whose provider, event or
  PROVIDER/EVENT matches it, case-insensitively; `*` matches any text,
  `?` one character (quote it from the shell): 'tracepoint:sched:*',
  '*exec*', 'MyCompany.*'. --registered lists only the registered
  providers, --named only those and the named kernel providers (neither
  needs tracefs). Tracepoints need tracefs and root or CAP_PERFMON. On
  Windows the registered providers are not listed yet.
  Exit status: 0 ok (also when nothing matches); 1 tracepoints cannot be
  listed (the named providers were); 2 usage error.]]

-- A glob ('*', '?') as an anchored, case-insensitive Lua pattern.
local function glob(pattern)
  local p = pattern:lower():gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0")
  return "^" .. p:gsub("%*", ".*"):gsub("%?", ".") .. "$"
end

function M.run(args)
  local opts, rest = util.getopt(args, { help = "flag", named = "flag", registered = "flag" },
                                 { ["-h"] = "help" })
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
  if opts.named and opts.registered then
    return util.usage_error(M, "give --registered or --named, not both")
  end
  -- registered TraceLogging providers: one line per name and id, their pids
  local regs, rerr = etw.user_providers()
  if not regs then return util.fail("providers", "registered providers: " .. rerr) end
  local byname, keys = {}, {}
  for _, r in ipairs(regs) do
    if wanted({ provider = r.name, event = "" }) then
      local k = r.name .. "\0" .. r.guid
      if not byname[k] then byname[k] = { name = r.name, guid = r.guid, pids = {} }; keys[#keys + 1] = k end
      table.insert(byname[k].pids, r.pid)
    end
  end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local r = byname[k]
    table.sort(r.pids)
    print(string.format("%s  %s  pid %s", r.name, r.guid, table.concat(r.pids, ",")))
  end
  if opts.registered then return util.OK end
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
