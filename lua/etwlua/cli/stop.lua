-- etwlua stop NAME... | --stale: stop trace sessions by name (stale ones
-- too), or every stale session (one whose owner process died).
local etw = require "etw"
local util = require "etwlua.cliutil"

local M = { name = "stop", summary = "stop trace sessions by name, or every stale one (--stale)" }

M.usage = "usage: etwlua stop NAME...\n       etwlua stop --stale [NAME...]"

M.details = [[
  Stops each named session; works on stale sessions whose owner died.
  --stale (alias --clean-stale) also stops every stale session; sessions
  whose owner is alive are never stopped unless named.
  Exit status: 0 ok; 1 a session could not be stopped; 2 usage error.]]

-- The session called `name` in a fresh listing, or nil; nil, err if the
-- listing fails.
local function find(name)
  local list, err = etw.sessions()
  if not list then return nil, err end
  for _, s in ipairs(list) do
    if s.name == name then return s end
  end
  return nil
end

function M.run(args)
  local opts, rest = util.getopt(args, { stale = "flag", ["clean-stale"] = "flag", help = "flag" },
                                 { ["-h"] = "help" })
  if not opts then return util.usage_error(M, rest) end
  if opts.help then print(util.help_text(M)) return util.OK end
  local stale = opts.stale or opts["clean-stale"]
  if #rest == 0 and not stale then
    return util.usage_error(M, "give a session NAME or --stale")
  end

  -- List the stale sessions before stopping anything named, so a named
  -- session is not stopped twice.
  local targets = {}
  if stale then
    local list, err = etw.sessions()
    if not list then return util.fail("stop", err) end
    local named = {}
    for _, name in ipairs(rest) do named[name] = true end
    for _, s in ipairs(list) do
      if s.state == "stale" and not named[s.name] then targets[#targets + 1] = s end
    end
  end

  local status = 0
  for _, name in ipairs(rest) do
    local ok, err = etw.stop_session(name)
    if ok then print("stopped " .. name) else status = util.fail("stop", name .. ": " .. err) end
  end

  if stale and #targets == 0 then io.stderr:write("no stale sessions\n") end
  for _, t in ipairs(targets) do
    -- Look again right before stopping: a new session may have taken the
    -- name since the listing, and a live session must not be stopped.
    local now, err = find(t.name)
    if err then
      status = util.fail("stop", t.name .. ": " .. err)
    elseif not now then
      io.stderr:write("etwlua stop: ", t.name, ": already gone\n")
    elseif now.state ~= "stale" or now.owner_pid ~= t.owner_pid then
      io.stderr:write("etwlua stop: ", t.name, ": no longer stale (owner ", tostring(now.owner_pid),
                      "), left running\n")
    else
      local ok, serr = etw.stop_session(t.name)
      if ok then print("stopped " .. t.name) else status = util.fail("stop", t.name .. ": " .. serr) end
    end
  end
  return status
end

return M
