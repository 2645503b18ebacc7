"""Constants of the wire contract that are not models: HTTP paths, the Redis key namespace."""

from __future__ import annotations

LOOKUP_PATH = "/v1/lookup"
BATCH_PATH = LOOKUP_PATH + "/batch"
PREWARM_PATH = "/v1/prewarm"
CACHE_PATH = "/v1/cache/{key}"
STATS_PATH = "/v1/stats"

#: Every Redis key warmline writes starts with this; the version changes with the value format.
REDIS_PREFIX = "warmline:v1:"
