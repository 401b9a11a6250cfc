-- forge-limits settle: true a ticket up to real usage (also used for streamed tokens).
-- KEYS: T token hashes (scopes with a TPM limit), then B budget hashes.
-- ARGV: now_ms (0 = Redis TIME), admitted_ms, add_tokens, release_tokens, T, B,
--       cost_delta, budget_tokens_delta, then B x period_id the ticket charged.
-- Tokens over the reservation go into the current bucket; unused reservation comes out of the
-- admission bucket while it still counts. Budget deltas apply only if the budget still counts
-- the ticket's period (a closed period is not reopened). Reply: {now}.

local now = clock(ARGV[1])
local ab = math.floor(tonumber(ARGV[2]) / BUCKET_MS)
local add = tonumber(ARGV[3])
local release = tonumber(ARGV[4])
local T = tonumber(ARGV[5])
local B = tonumber(ARGV[6])
local dcost = tonumber(ARGV[7])
local dtok = tonumber(ARGV[8])
local nb = math.floor(now / BUCKET_MS)

for i = 1, T do
  local key = KEYS[i]
  if add > 0 then
    redis.call('HINCRBY', key, s(nb), s(add))
    redis.call('PEXPIRE', key, WINDOW_TTL_MS)
  end
  if release > 0 and ab + WINDOW > nb then
    local cur = tonumber(redis.call('HGET', key, s(ab)))
    if cur ~= nil then
      local left = math.max(0, cur - release)
      if left > 0 then redis.call('HSET', key, s(ab), s(left)) else redis.call('HDEL', key, s(ab)) end
    end
  end
end

if dcost ~= 0 or dtok ~= 0 then
  for j = 1, B do
    local key = KEYS[T + j]
    if tonumber(redis.call('HGET', key, 'pid')) == tonumber(ARGV[8 + j]) then
      if redis.call('HINCRBY', key, 'cost', s(dcost)) < 0 then redis.call('HSET', key, 'cost', '0') end
      if redis.call('HINCRBY', key, 'tokens', s(dtok)) < 0 then redis.call('HSET', key, 'tokens', '0') end
    end
  end
end
return { now }
