-- The global rate limiter (workers/ratelimit.py).

-- name: rate_lease
SELECT granted, wait_seconds FROM nfsync_rate_lease($1, $2, $3);

-- name: rate_return
SELECT nfsync_rate_return($1, $2);

-- name: rate_pause
SELECT nfsync_rate_pause($1, $2);

-- name: rate_throttles
SELECT coalesce(sum(throttles), 0)::bigint FROM rate_limit_buckets WHERE key LIKE $1 || '%';
