-- GCRA, atomically, in one call (the same rule as apikeys' in-process limiter).
-- KEYS[1]: the key's theoretical arrival time (TAT), in microseconds of Redis's clock.
-- ARGV[1]: the interval between requests, ARGV[2]: the burst window (microseconds).
-- Returns {allowed, remaining, reset, retry_after} (microseconds).
-- The state expires when the full burst is back: an idle key holds no memory.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
local base = math.max(tat, now)
local new_tat = base + interval
local used = new_tat - now
if used <= tolerance then
  redis.call('SET', KEYS[1], string.format('%d', new_tat),
    'PX', string.format('%d', math.ceil(used / 1000)))
  return {1, math.floor((tolerance - used) / interval), used, 0}
end
return {0, math.floor(math.max(tolerance - (base - now), 0) / interval), base - now, used - tolerance}
