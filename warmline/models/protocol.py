"""Constants of the wire contract that are not models: HTTP paths, the Redis key namespace, topic names."""

from __future__ import annotations

import re

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

#: Kafka's longest topic name.
MAX_TOPIC_NAME = 249
_TOPIC_NAME = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_TOPIC_NAME}}}")


def is_topic_name(name: object) -> bool:
    """Whether *name* is a topic name Kafka accepts: the one check for reply topics, headers and settings.

    A name Kafka refuses holds a producer in its metadata wait (the faults run: a whole agent stalled).
    """
    return isinstance(name, str) and name not in (".", "..") and _TOPIC_NAME.fullmatch(name) is not None
