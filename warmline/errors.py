"""Every warmline exception, in one module that imports nothing of warmline (so every layer may).

    WarmlineError
    ├── SettingsError           a bad WARMLINE_* / TILORES_* value; the message names it
    ├── InvalidMessage          a message or value that is not a valid wire model → "invalid" (also a ValueError)
    ├── SourceError             upstream failed → status "error"
    │   ├── SourceUnavailable   connection refused, 5xx, breaker open → "unavailable"
    │   │   └── TiloresHTTPError  a 5xx / 429 the retries gave up on
    │   ├── SourceTimeout       no answer in time → "timeout"
    │   └── TiloresConfigError  names the instance's schema lacks
    ├── FieldListError          a bad TILORES_RECORD_FIELDS (also a ValueError)
    ├── L2Unavailable           Redis slow or down; never reaches a client
    ├── RedisConfigError        WARMLINE_REDIS_* that make no usable client
    ├── MappingError            a WARMLINE_EVENT_MAPPINGS file that cannot be used
    ├── RegistryUnavailable     the call registry (Redis) did not answer: retried
    ├── VipFileError            an unreadable VIP file (also a ValueError)
    ├── BrokerUnreachable       no Kafka broker at WARMLINE_BROKER
    ├── KafkaAuthFailed         the broker refused our TLS certificate or SASL credentials
    ├── KafkaSecurityError      WARMLINE_KAFKA_* that make no usable connection
    ├── TopicLayoutError        an internal topic with another partition count
    ├── FaustInternalsChanged   a Faust/aiokafka without a private name warmline uses (stream/internals.py)
    ├── DevStackError           the embedded broker could not start
    ├── NotDelivered            a reply the broker did not take: its request stays unacked for redelivery
    ├── ChatLookupFailed        /chat could not read the caller's record (unavailable, timeout)
    └── ChatError               a /chat request refused with an HTTP status, answered as JSON

The CLI prints any WarmlineError that reaches it as one line and exits 2: each message says
what to do. ``status`` is the lookup status (a ``models.LookupStatus`` value) a lookup that
failed with the error answers; ``retriable`` says whether trying again can help.
"""

from __future__ import annotations

from typing import Any, ClassVar


class WarmlineError(Exception):
    """Root of warmline's own errors."""

    status: ClassVar[str] = "error"  # a LookupStatus value (the enum lives in models, which imports this module)
    retriable: ClassVar[bool] = False


class SettingsError(WarmlineError):
    """Raised when the environment holds an invalid value; the message names the variable."""


class InvalidMessage(WarmlineError, ValueError):
    """A message or value that cannot be parsed into a wire model; ``reason`` says why."""

    status: ClassVar[str] = "invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SourceError(WarmlineError):
    """The upstream failed to answer; never cached. ``kind`` labels the failure in metrics."""

    def __init__(self, message: str = "", kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind or type(self).__name__


class SourceUnavailable(SourceError):
    """The upstream cannot be reached (refused, 5xx, breaker open)."""

    status: ClassVar[str] = "unavailable"
    retriable: ClassVar[bool] = True


class SourceTimeout(SourceError):
    """The upstream did not answer in time."""

    status: ClassVar[str] = "timeout"
    retriable: ClassVar[bool] = True


class TiloresHTTPError(SourceUnavailable):
    """A retriable HTTP answer (5xx, 429); carries Retry-After when the server sent one."""

    def __init__(self, message: str, kind: str, retry_after_s: float | None = None) -> None:
        super().__init__(message, kind)
        self.retry_after_s = retry_after_s


class TiloresConfigError(SourceError):
    """The configured parameter or field names do not exist in the instance's schema."""


class FieldListError(WarmlineError, ValueError):
    """A configured field or parameter name is not a GraphQL name."""


class L2Unavailable(WarmlineError):
    """Redis failed, timed out, or its breaker is open; the lookup goes on without L2."""

    retriable: ClassVar[bool] = True


class RedisConfigError(WarmlineError):
    """The WARMLINE_REDIS_* settings do not make a usable configuration; the message names them."""


class MappingError(WarmlineError):
    """A mapping file that cannot be read or says something the engine does not understand."""


class RegistryUnavailable(WarmlineError):
    """The call registry (Redis) did not answer: an event without a number cannot be matched now."""


class VipFileError(WarmlineError, ValueError):
    """The VIP file cannot be used; the message names the list and the entry."""


class BrokerUnreachable(WarmlineError):
    """No broker answered at the bootstrap address."""


class KafkaAuthFailed(WarmlineError):
    """The broker refused this client's TLS certificate or SASL credentials, or TLS could not be set up."""


class KafkaSecurityError(WarmlineError):
    """The WARMLINE_KAFKA_* settings do not make a usable configuration; the message names them."""


class TopicLayoutError(WarmlineError):
    """An internal topic exists with another partition count than configured."""


class FaustInternalsChanged(WarmlineError):
    """An installed faust-streaming or aiokafka lacks a private name warmline relies on."""


class DevStackError(WarmlineError):
    """The embedded broker could not be started or reached; the message says what to do."""


class NotDelivered(WarmlineError):
    """A reply or re-keyed copy the broker did not take: its request stays unacked for redelivery."""


class ChatLookupFailed(WarmlineError):
    """The caller's record could not be read (unavailable, timeout); ``answer`` holds the lookup's reply.

    *answer* is a ``models.Answer`` (typed Any: this module imports nothing of warmline).
    """

    def __init__(self, answer: Any) -> None:
        super().__init__(f"lookup {answer.status}: {answer.error or 'no detail'}")
        self.answer = answer


class ChatError(WarmlineError):
    """A /chat request refused with HTTP status *code* and a JSON ``detail``."""

    def __init__(self, code: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.code = code
        self.detail = detail
