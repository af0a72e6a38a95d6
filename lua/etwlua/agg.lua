-- etwlua.agg: aggregations keyed by any value, printed as aligned tables
-- with bars (as bpftrace prints its maps).
--
--   local agg = require "etwlua.agg"
--   local per_event = agg.count()
--   local sizes = agg.hist()                 -- power-of-two buckets
--   c:on(function(ev)
--     per_event:add(agg.tuple(ev.provider, ev.name))
--     sizes:add(ev.name, ev.fields.Size)
--   end)
--   c:run()
--   per_event:print(io.stdout, {top = 10})
--   sizes:print()
--
-- Kinds: count, sum, min, max, avg (one number per key), hist (power-of-two
-- histogram per key), lhist(min, max, step) (linear histogram per key).
local M = {}

local Agg = {}
Agg.__index = Agg

-- ---- keys ------------------------------------------------------------------

-- Tuples: agg.tuple(a, b) returns the same table for the same parts, so a
-- key of several values counts as one key.
local tuple_mt = {
  __tostring = function(t)
    local parts = {}
    for i = 1, t.n do parts[i] = tostring(t[i]) end
    return table.concat(parts, ", ")
  end,
}
-- The intern tree: one level per part; NIL stands for a nil part, LEAF
-- holds the tuple. Tuples live as long as the process (like the keys of
-- the aggregations that use them).
local NIL, LEAF = {}, {}
local interned = {}

function M.tuple(...)
  local n = select("#", ...)
  local node = interned
  for i = 1, n do
    local k = select(i, ...)
    if k == nil then k = NIL end
    if k ~= k then error("agg.tuple: part " .. i .. " is NaN", 2) end
    local next_node = node[k]
    if not next_node then
      next_node = {}
      node[k] = next_node
    end
    node = next_node
  end
  local t = node[LEAF]
  if not t then
    t = setmetatable({ n = n, ... }, tuple_mt)
    node[LEAF] = t
  end
  return t
end

local rank = { number = 1, string = 2, boolean = 3 }

-- Total order over keys: numbers, then strings, then booleans, then tuples
-- (part by part), then anything else by its text.
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  local ra = rank[ta] or (getmetatable(a) == tuple_mt and 4) or 5
  local rb = rank[tb] or (getmetatable(b) == tuple_mt and 4) or 5
  if ra ~= rb then return ra < rb end
  if ra == 1 or ra == 2 then return a < b end
  if ra == 3 then return (not a) and b end
  if ra == 4 then
    for i = 1, math.min(a.n, b.n) do
      local x, y = a[i], b[i]
      if x ~= y then
        if x == nil then return true end
        if y == nil then return false end
        return key_less(x, y)
      end
    end
    return a.n < b.n
  end
  return tostring(a) < tostring(b)
end

local function check_key(key)
  if key == nil then error("agg: key must not be nil", 3) end
  if key ~= key then error("agg: key must not be NaN", 3) end
end

local function check_value(v)
  if type(v) ~= "number" then error("agg: value must be a number, got " .. type(v), 3) end
  if v ~= v then error("agg: value must not be NaN", 3) end
end

-- ---- constructors ----------------------------------------------------------

local function new(kind, extra)
  local a = setmetatable({ kind = kind, data = {}, nkeys = 0 }, Agg)
  for k, v in pairs(extra or {}) do a[k] = v end
  return a
end

function M.count() return new("count") end
function M.sum() return new("sum") end
function M.min() return new("min") end
function M.max() return new("max") end
function M.avg() return new("avg") end
function M.hist() return new("hist") end

-- Linear histogram: buckets [min, min+step), ... up to max, plus one below
-- min and one from max up. At most 1000 buckets.
function M.lhist(min, max, step)
  local args = { min, max, step }
  for i = 1, 3 do
    local v = args[i]
    if math.type(v) ~= "integer" then
      error("bad argument #" .. i .. " to 'lhist' (integer expected, got " ..
            (math.type(v) or type(v)) .. ")", 2)
    end
  end
  if step < 1 then error("bad argument #3 to 'lhist' (step must be >= 1)", 2) end
  if max <= min then error("bad argument #2 to 'lhist' (max must be greater than min)", 2) end
  if (max - min) // step > 1000 or max - min < 0 then     -- (< 0: the difference overflowed)
    error("lhist: (max - min) / step must be at most 1000 buckets", 2)
  end
  return new("lhist", { lo = min, hi = max, step = step })
end

-- ---- adding ---------------------------------------------------------------

-- Power-of-two bucket of v: -1 for negatives, 0 for 0, b + 1 for [2^b, 2^(b+1)).
local function pow2_bucket(v)
  if v < 0 then return -1 end
  local n = math.tointeger(math.floor(v))
  if not n then return 64 end                    -- beyond 2^63
  local b = 0
  while n > 0 do
    n = n >> 1
    b = b + 1
  end
  return b
end

function Agg:_bucket(v)
  if self.kind == "hist" then return pow2_bucket(v) end
  if v < self.lo then return -1 end
  if v >= self.hi then return (self.hi - self.lo + self.step - 1) // self.step end
  return math.floor((v - self.lo) / self.step)
end

local update = {
  count = function(old) return (old or 0) + 1 end,
  sum = function(old, v) return (old or 0) + v end,
  min = function(old, v) return (old == nil or v < old) and v or old end,
  max = function(old, v) return (old == nil or v > old) and v or old end,
  avg = function(old, v)
    old = old or { sum = 0, n = 0 }
    old.sum, old.n = old.sum + v, old.n + 1
    return old
  end,
}

-- add(key [, value]): count takes no value; the others need a number.
function Agg:add(key, value)
  check_key(key)
  if self.kind ~= "count" then check_value(value) end
  local data = self.data
  local old = data[key]
  if old == nil then self.nkeys = self.nkeys + 1 end
  local up = update[self.kind]
  if up then
    data[key] = up(old, value)
    return
  end
  old = old or { n = 0, b = {} }
  local i = self:_bucket(value)
  old.b[i] = (old.b[i] or 0) + 1
  old.n = old.n + 1
  data[key] = old
end

-- ---- reading ----------------------------------------------------------------

-- get(key): the number for count/sum/min/max/avg (nil for a key never
-- added); for hist/lhist the number of values added.
function Agg:get(key)
  local v = self.data[key]
  if v == nil then return nil end
  if self.kind == "avg" then return v.sum / v.n end
  if self.kind == "hist" or self.kind == "lhist" then return v.n end
  return v
end

function Agg:size() return self.nkeys end

function Agg:clear()
  self.data, self.nkeys = {}, 0
end

-- entries([n]) -> {{key=, value=}, ...}: largest value first, equal values
-- by key; at most n entries.
function Agg:entries(n)
  local list = {}
  for k in pairs(self.data) do list[#list + 1] = { key = k, value = self:get(k) } end
  table.sort(list, function(a, b)
    if a.value ~= b.value then return a.value > b.value end
    return key_less(a.key, b.key)
  end)
  if n and #list > n then
    for i = #list, n + 1, -1 do list[i] = nil end
  end
  return list
end

local suffixes = { "", "K", "M", "G", "T", "P", "E" }

-- 2^b as "512", "1K", "2M" (powers of 1024).
local function pow2_text(b)
  return tostring(1 << (b % 10)) .. suffixes[b // 10 + 1]
end

function Agg:_label(i)
  if self.kind == "hist" then
    if i == -1 then return "(..., 0)" end
    if i == 0 then return "[0]" end
    if i == 1 then return "[1]" end
    if i == 64 then return "[8E, ...)" end
    return "[" .. pow2_text(i - 1) .. ", " .. pow2_text(i) .. ")"
  end
  if i == -1 then return "(..., " .. self.lo .. ")" end
  local low = self.lo + i * self.step
  if low >= self.hi then return "[" .. self.hi .. ", ...)" end
  return "[" .. low .. ", " .. math.min(low + self.step, self.hi) .. ")"
end

-- buckets(key) -> {{label=, count=}, ...} from the lowest to the highest
-- bucket that holds a value (empty ones between included); hist and lhist.
function Agg:buckets(key)
  if self.kind ~= "hist" and self.kind ~= "lhist" then
    error("agg: buckets() is for hist and lhist, not " .. self.kind, 2)
  end
  local v = self.data[key]
  if not v then return {} end
  local lo, hi
  for i in pairs(v.b) do
    lo = (not lo or i < lo) and i or lo
    hi = (not hi or i > hi) and i or hi
  end
  local rows = {}
  for i = lo, hi do rows[#rows + 1] = { label = self:_label(i), count = v.b[i] or 0 } end
  return rows
end

-- ---- printing ---------------------------------------------------------------

local function value_text(v)
  if math.type(v) == "float" then
    if v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then return string.format("%d", v) end
    return string.format("%.6g", v)
  end
  return tostring(v)
end

local function bar(v, max, width)
  local n = 0
  if max > 0 and v > 0 then n = math.floor(v / max * width + 0.5) end
  return "|" .. string.rep("@", n) .. string.rep(" ", width - n) .. "|"
end

-- rows: {{label, value}, ...}; prints label (left), value (right), bar.
local function print_rows(out, rows, width, indent)
  local lw, vw, max, neg = 0, 0, 0, false
  for _, r in ipairs(rows) do
    r[3] = value_text(r[2])
    lw, vw = math.max(lw, #r[1]), math.max(vw, #r[3])
    if r[2] > max then max = r[2] end
    if r[2] < 0 then neg = true end
  end
  for _, r in ipairs(rows) do
    local line = string.format("%s%-" .. lw .. "s  %" .. vw .. "s", indent, r[1], r[3])
    if not neg and width > 0 then line = line .. " " .. bar(r[2], max, width) end
    out:write(line, "\n")
  end
end

-- print([out [, {title=, top=, width=}]]): out defaults to io.stdout;
-- title is printed first on its own line; top keeps the top entries (keys
-- by value, largest first; histograms: keys by count) and says how many
-- more there are; width is the bar width (default 40, 0: no bars).
-- Scalar kinds: one row per key. Histograms: per key a "key:" line, then
-- one row per bucket.
function Agg:print(out, opts)
  out = out or io.stdout
  opts = opts or {}
  local width = opts.width or 40
  if math.type(width) ~= "integer" or width < 0 or width > 1000 then
    error("agg: print option 'width' must be an integer 0..1000", 2)
  end
  if opts.top ~= nil and (math.type(opts.top) ~= "integer" or opts.top < 1) then
    error("agg: print option 'top' must be a positive integer", 2)
  end
  if opts.title then out:write(opts.title, "\n") end
  local list = self:entries(opts.top)
  if self.kind == "hist" or self.kind == "lhist" then
    for i, e in ipairs(list) do
      if i > 1 then out:write("\n") end
      out:write(tostring(e.key), ":\n")
      local rows = {}
      for j, b in ipairs(self:buckets(e.key)) do rows[j] = { b.label, b.count } end
      print_rows(out, rows, width, "  ")
    end
  else
    local rows = {}
    for i, e in ipairs(list) do rows[i] = { tostring(e.key), e.value } end
    print_rows(out, rows, width, "")
  end
  if #list < self.nkeys then out:write(string.format("... (%d more)\n", self.nkeys - #list)) end
end

return M
