"""The warmline exception tree, drawn once.

    WarmlineError
    ├── SettingsError               (settings.py) a bad WARMLINE_* / TILORES_* value; the message names it
    ├── SourceError                 (sources/base.py) upstream failed → status "error"
    │   ├── SourceUnavailable       (sources/base.py) connection refused, 5xx, breaker open → "unavailable"
    │   │   └── TiloresHTTPError    (sources/tilores/source.py) a 5xx / 429 the retries gave up on
    │   ├── SourceTimeout           (sources/base.py) no answer in time → "timeout"
    │   └── TiloresConfigError      (sources/tilores/source.py) names the instance's schema lacks
    ├── FieldListError              (sources/tilores/queries.py) a bad TILORES_RECORD_FIELDS (also a ValueError)
    ├── L2Unavailable               (cache/l2.py) Redis slow or down; never reaches a client
    ├── RedisConfigError            (cache/redis_client.py) WARMLINE_REDIS_* that make no usable client
    ├── MappingError                (platforms/mapping.py) a WARMLINE_EVENT_MAPPINGS file that cannot be used
    ├── RegistryUnavailable         (platforms/registry.py) the call registry (Redis) did not answer: retried
    ├── VipFileError                (prewarm/vip_lists.py) an unreadable VIP file (also a ValueError)
    ├── BrokerUnreachable           (stream/broker.py) no Kafka broker at WARMLINE_BROKER
    ├── KafkaAuthFailed             (stream/security.py) the broker refused our TLS certificate or SASL credentials
    ├── KafkaSecurityError          (stream/security.py) WARMLINE_KAFKA_* that make no usable connection
    ├── TopicLayoutError            (stream/topics.py) an internal topic with another partition count
    ├── FaustInternalsChanged       (stream/internals.py) a Faust/aiokafka without a private name warmline uses
    └── DevStackError               (commands/embedded_broker.py) the embedded broker could not start

Outside the tree, by design: ``ChatError`` (http/chat.py) is a /chat request refused with a
status code, answered as JSON; ``ChatLookupFailed`` (llm/chat.py) is a lookup the LangChain tool
reports back to the model as text. Neither ends a process.

The CLI prints any WarmlineError as one line and exits 2: each message says what to do.

Wire-level defects are ``models.InvalidMessage`` (a ValueError, so ``models`` stays free of
warmline imports); they map to status "invalid".
"""

from __future__ import annotations

from typing import ClassVar

from .models import LookupStatus


class WarmlineError(Exception):
    """Root of warmline's own errors."""

    status: ClassVar[LookupStatus] = LookupStatus.ERROR
    retriable: ClassVar[bool] = False
