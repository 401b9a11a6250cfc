-- forge-limits admit: check every limit, then reserve all or nothing.
-- KEYS: per rate scope i (3 each): req hash, tok hash, conc zset; then one hash per budget.
-- ARGV: now_ms (0 = Redis TIME), lease_id, lease_ms, tokens, budget_tokens, cost_nanos,
--       R (rate scopes), B (budgets), then R x (rpm, tpm, concurrency), then
--       B x (period code, max_cost_nanos, max_tokens); -1 means "no limit".
-- Reply admitted: {1, now, R x (req_used, req_reset_ms, tok_used, tok_reset_ms), B x period_id}
-- Reply refused:  {0, now, index, kind, limit, used, requested, retry_after_ms (-1 never),
--                  R x (req_used, req_reset_ms, tok_used, tok_reset_ms)}
--   kind: 1 rpm, 2 tpm, 3 concurrency (index among rate scopes), 4 spend, 5 tokens (among budgets)
-- Gauges are -1 for dimensions the scope does not limit.

local CONCURRENCY_RETRY_MS = 1000

local now = clock(ARGV[1])
local lease_id = ARGV[2]
local lease_ms = tonumber(ARGV[3])
local need_tok = tonumber(ARGV[4])
local need_btok = tonumber(ARGV[5])
local need_cost = tonumber(ARGV[6])
local R = tonumber(ARGV[7])
local B = tonumber(ARGV[8])
local nb = math.floor(now / BUCKET_MS)

local rate = {}
for i = 1, R do
  local a, k = 8 + (i - 1) * 3, (i - 1) * 3
  local e = {
    rpm = tonumber(ARGV[a + 1]), tpm = tonumber(ARGV[a + 2]), conc = tonumber(ARGV[a + 3]),
    kreq = KEYS[k + 1], ktok = KEYS[k + 2], kconc = KEYS[k + 3],
  }
  if e.rpm >= 0 then e.req = load_window(e.kreq, nb) end
  if e.tpm >= 0 then e.tok = load_window(e.ktok, nb) end
  if e.conc >= 0 then
    redis.call('ZREMRANGEBYSCORE', e.kconc, '-inf', s(now))
    e.held = redis.call('ZCARD', e.kconc)
  end
  rate[i] = e
end

local budgets = {}
for j = 1, B do
  local a = 8 + R * 3 + (j - 1) * 3
  local code = tonumber(ARGV[a + 1])
  local key = KEYS[R * 3 + j]
  local st = redis.call('HMGET', key, 'pid', 'cost', 'tokens')
  local pid, stored = period_id(code, now), tonumber(st[1])
  local cost, toks = 0, 0
  -- Rollover is lazy; a clock stepping back keeps the stored (later) period.
  if stored ~= nil and stored >= pid then
    pid, cost, toks = stored, tonumber(st[2]) or 0, tonumber(st[3]) or 0
  end
  budgets[j] = {
    key = key, code = code, pid = pid, pend = period_end(code, pid),
    maxc = tonumber(ARGV[a + 2]), maxt = tonumber(ARGV[a + 3]), cost = cost, toks = toks,
  }
end

local function reset_of(w, reserved)
  local newest = nil
  if #w.live > 0 then newest = w.live[#w.live][1] end
  if reserved and (newest == nil or newest < nb) then newest = nb end
  if newest == nil then return 0 end
  return math.max(0, expiry(newest) - now)
end

local function push_gauges(out, e, reserved)
  if e.req then
    local used = e.req.total
    if reserved then used = used + 1 end
    out[#out + 1] = used
    out[#out + 1] = reset_of(e.req, reserved)
  else
    out[#out + 1] = -1
    out[#out + 1] = -1
  end
  if e.tok then
    local grew = reserved and need_tok > 0
    local used = e.tok.total
    if grew then used = used + need_tok end
    out[#out + 1] = used
    out[#out + 1] = reset_of(e.tok, grew)
  else
    out[#out + 1] = -1
    out[#out + 1] = -1
  end
end

local function deny(index, kind, limit, used, need, retry)
  local out = { 0, now, index, kind, limit, used, need, retry }
  for i = 1, R do push_gauges(out, rate[i], false) end
  return out
end

for i = 1, R do
  local e = rate[i]
  if e.req and not fits(e.req.total, 1, e.rpm) then
    return deny(i, 1, e.rpm, e.req.total, 1, retry_after(e.req, 1, e.rpm, now))
  end
  if e.tok and not fits(e.tok.total, need_tok, e.tpm) then
    return deny(i, 2, e.tpm, e.tok.total, need_tok, retry_after(e.tok, need_tok, e.tpm, now))
  end
  if e.held and not fits(e.held, 1, e.conc) then
    local retry = CONCURRENCY_RETRY_MS
    if e.conc <= 0 then retry = -1 end
    return deny(i, 3, e.conc, e.held, 1, retry)
  end
end

for j = 1, B do
  local b = budgets[j]
  local checks = { { 4, b.maxc, b.cost, need_cost }, { 5, b.maxt, b.toks, need_btok } }
  for _, c in ipairs(checks) do
    local kind, limit, used, need = c[1], c[2], c[3], c[4]
    if limit >= 0 and not fits(used, need, limit) then
      local retry = -1
      if limit > 0 and need <= limit and b.pend >= 0 then retry = math.max(0, b.pend - now) end
      return deny(j, kind, limit, used, need, retry)
    end
  end
end

local out = { 1, now }
for i = 1, R do
  local e = rate[i]
  if e.req then
    redis.call('HINCRBY', e.kreq, s(nb), 1)
    redis.call('PEXPIRE', e.kreq, WINDOW_TTL_MS)
  end
  if e.tok and need_tok > 0 then
    redis.call('HINCRBY', e.ktok, s(nb), s(need_tok))
    redis.call('PEXPIRE', e.ktok, WINDOW_TTL_MS)
  end
  if e.held then
    redis.call('ZADD', e.kconc, s(now + lease_ms), lease_id)
    if redis.call('PTTL', e.kconc) < lease_ms then redis.call('PEXPIRE', e.kconc, s(lease_ms)) end
  end
  push_gauges(out, e, true)
end
for j = 1, B do
  local b = budgets[j]
  redis.call('HSET', b.key, 'pid', s(b.pid), 'cost', s(b.cost + need_cost), 'tokens', s(b.toks + need_btok))
  if b.pend >= 0 then redis.call('PEXPIRE', b.key, s(math.max(1, b.pend - now))) end
  out[#out + 1] = b.pid
end
return out
