-- Spending credits, atomically, in one call (the rule of apikeys' `Credits::spend`).
-- KEYS[1]: a hash {r = remaining, s = start of the period, microseconds since 1970}.
-- ARGV[1], ARGV[2]: the record's remaining and period start, used when the hash is absent.
-- ARGV[3]: the refill boundary at or before now ('' without a refill), ARGV[4]: the refill
-- amount, ARGV[5]: the cost. Returns {granted, remaining, period start}.
local state = redis.call('HMGET', KEYS[1], 'r', 's')
local r, s = tonumber(state[1]), tonumber(state[2])
if not r or not s then
  r, s = tonumber(ARGV[1]), tonumber(ARGV[2])
end
if ARGV[3] ~= '' then
  local boundary = tonumber(ARGV[3])
  if boundary > s then
    r, s = tonumber(ARGV[4]), boundary
  end
end
local cost = tonumber(ARGV[5])
local granted = 0
if r >= cost then
  r = r - cost
  granted = 1
end
redis.call('HSET', KEYS[1], 'r', string.format('%d', r), 's', string.format('%d', s))
return {granted, r, s}
