-- forge-limits release: free a ticket's concurrency slots.
-- KEYS: the conc zsets of the scopes the ticket leased. ARGV: lease_id. Reply: leases removed.

local removed = 0
for i = 1, #KEYS do
  removed = removed + redis.call('ZREM', KEYS[i], ARGV[1])
end
return removed
