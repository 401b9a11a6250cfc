-- forge-limits: helpers shared by the admit, settle and release scripts (prepended to each).
-- Must match window.rs, period.rs and budget.rs exactly; the integration tests run both.

local WINDOW = 60            -- buckets per window
local BUCKET_MS = 1000
local WINDOW_TTL_MS = (WINDOW + 1) * BUCKET_MS
local DAY_MS = 86400000

-- Redis < 5 needs effects replication before writing after TIME; later versions default to it.
if redis.replicate_commands then pcall(redis.replicate_commands) end

-- ARGV time when given (> 0), else the Redis server clock.
local function clock(arg)
  local n = tonumber(arg)
  if n and n > 0 then return n end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Integers as decimal strings: Lua's own number formatting switches to exponents.
local function s(n) return string.format('%d', n) end

local function fits(used, need, limit) return used < limit and used + need <= limit end

-- A window hash (field = bucket, value = count): drops dead buckets, returns the total and the
-- live non-zero buckets oldest first.
local function load_window(key, nb)
  local raw = redis.call('HGETALL', key)
  local live, dead, total = {}, {}, 0
  for i = 1, #raw, 2 do
    local b, c = tonumber(raw[i]), tonumber(raw[i + 1])
    if b + WINDOW <= nb then
      dead[#dead + 1] = raw[i]
    elseif c > 0 then
      live[#live + 1] = { b, c }
      total = total + c
    end
  end
  if #dead > 0 then redis.call('HDEL', key, unpack(dead)) end
  table.sort(live, function(x, y) return x[1] < y[1] end)
  return { total = total, live = live }
end

local function expiry(b) return (b + WINDOW) * BUCKET_MS end

-- Time until enough of the oldest usage expires for `need` to fit; -1 when it never can.
local function retry_after(w, need, limit, now)
  if limit <= 0 or need > limit then return -1 end
  local left = w.total
  for i = 1, #w.live do
    left = left - w.live[i][2]
    if fits(left, need, limit) then return math.max(0, expiry(w.live[i][1]) - now) end
  end
  return 0
end

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m + 9
  if m > 2 then mp = m - 3 end
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp + 3
  if mp >= 10 then m = mp - 9 end
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m
end

-- Period code (0 day, 1 month, 2 total) -> id of the period containing `now`.
local function period_id(code, now)
  local days = math.floor(now / DAY_MS)
  if code == 0 then return days end
  if code == 1 then
    local y, m = civil_from_days(days)
    return y * 12 + m - 1
  end
  return 0
end

-- End of the period with this id (Unix ms), or -1 for total.
local function period_end(code, id)
  if code == 0 then return (id + 1) * DAY_MS end
  if code == 1 then
    local nxt = id + 1
    local y = math.floor(nxt / 12)
    return days_from_civil(y, nxt - y * 12 + 1, 1) * DAY_MS
  end
  return -1
end
