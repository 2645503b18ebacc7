"""Constants of the wire contract that are not models: HTTP paths, the Redis key namespace."""

from __future__ import annotations

LOOKUP_PATH = "/v1/lookup"
BATCH_PATH = LOOKUP_PATH + "/batch"
PREWARM_PATH = "/v1/prewarm"
CACHE_PATH = "/v1/cache/{key}"
STATS_PATH = "/v1/stats"
EVENTS_PATH = "/v1/events/{platform}"

#: Request bodies: a 1,000-lookup batch or a chat turn is ~100 KB; POST /v1/prewarm takes up to
#: 100,000 keys (~5 MB of JSON). A longer body is refused with 413 before it is read.
MAX_BODY_BYTES = 1024 * 1024
MAX_PREWARM_BODY_BYTES = 8 * 1024 * 1024

#: Every Redis key warmline writes starts with this; the version changes with the value format.
REDIS_PREFIX = "warmline:v1:"
