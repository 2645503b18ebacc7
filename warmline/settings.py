"""Settings: every WARMLINE_* / TILORES_* variable, read once from the environment."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .errors import SettingsError
from .models.protocol import MAX_TOPIC_NAME, REDIS_PREFIX, is_topic_name

# Default topic names: the wire contract of docs/protocol.md.
TOPIC_CALL_STARTED = "call-started"
TOPIC_LOOKUP_REQUEST = "lookup-request"
TOPIC_LOOKUP_REPLY = "lookup-reply"
TOPIC_LOOKUP_DLQ = "lookup-dlq"
TOPIC_CUSTOMER_CHANGED = "customer-changed"

_LATENCY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?)\s*)?$")


def parse_latency_ms(value: str) -> tuple[float, float]:
    """Parse ``"50"`` or ``"500-2000"`` into a (low, high) range in milliseconds."""
    match = _LATENCY_RE.match(value)
    if not match:
        raise ValueError(f"expected a number of ms or a range like 500-2000, got {value!r}")
    low = float(match.group(1))
    high = float(match.group(2)) if match.group(2) is not None else low
    if high < low:
        raise ValueError(f"range {value!r} ends below its start")
    return low, high


class SecretFiles(PydanticBaseSettingsSource):
    """Secret settings read from ``<NAME>_FILE`` (the Docker and Kubernetes secrets convention).

    Every field typed SecretStr may be given as a file instead: the file's content, without the
    trailing newline an editor adds. Setting both the variable and its ``_FILE`` is an error.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # noqa: D102  # unused: __call__ reads every field
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """Each secret field whose ``_FILE`` variable is set, read from that file."""
        prefix = str(self.config.get("env_prefix", ""))
        found: dict[str, Any] = {}
        for name, info in self.settings_cls.model_fields.items():
            if not _is_secret(info):
                continue
            variable = f"{prefix}{name}".upper()
            path = os.environ.get(f"{variable}_FILE")
            if not path:
                continue
            if os.environ.get(variable):
                raise SettingsError(f"{variable} and {variable}_FILE are both set: keep one")
            try:
                found[name] = Path(path).read_text().rstrip("\r\n")
            except OSError as e:
                raise SettingsError(f"{variable}_FILE={path}: cannot read it ({e.strerror})") from None
        return found


def _is_secret(info: FieldInfo) -> bool:
    annotation = info.annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


class WarmlineSettings(BaseSettings):
    """BaseSettings whose secrets may also come from ``<NAME>_FILE`` (environment first, then files)."""

    @classmethod
    def settings_customise_sources(  # noqa: D102  # pydantic-settings' hook
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, SecretFiles(settings_cls)


class Settings(WarmlineSettings):
    """Every setting of a warmline process; see .env.template for each one's meaning."""

    model_config = SettingsConfigDict(env_prefix="WARMLINE_", frozen=True, extra="ignore", env_file=None)

    app_id: str = "warmline"
    broker: str = "kafka://127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = REDIS_PREFIX
    redis_timeout_ms: int = Field(default=50, ge=1, le=60_000)
    redis_password: SecretStr | None = None  # replaces the URL's password (so the URL holds no secret)
    redis_mode: Literal["standalone", "sentinel", "cluster"] = "standalone"
    redis_sentinels: str = ""
    redis_sentinel_master: str | None = None
    redis_ssl_ca_file: Path | None = None
    redis_ssl_cert_file: Path | None = None
    redis_ssl_key_file: Path | None = None
    web_port: int = Field(default=6066, ge=0, le=65535)
    web_host: str = "127.0.0.1"
    data_dir: Path = Path("./var")
    topic_partitions: int = Field(default=8, ge=1, le=1024)
    topic_call_started: str = TOPIC_CALL_STARTED
    topic_lookup_request: str = TOPIC_LOOKUP_REQUEST
    topic_lookup_reply: str = TOPIC_LOOKUP_REPLY
    topic_lookup_dlq: str = TOPIC_LOOKUP_DLQ
    topic_customer_changed: str = TOPIC_CUSTOMER_CHANGED
    consumer_fetch_max_wait_ms: int = Field(default=500, ge=0, le=60_000)
    # Records one fetch hands on at most. Unbounded (Faust's default), a fetch during a call-started
    # burst handed on 26,000 records, and the next fetch (with the lookups) waited 10-17 s for them.
    consumer_max_poll_records: int = Field(default=100, ge=1, le=100_000)
    # The group consumer's fetch wait while lookups have a consumer of their own (it then fetches
    # warming and invalidations only, which can wait): None means consumer_fetch_max_wait_ms.
    warming_fetch_max_wait_ms: int | None = Field(default=None, ge=0, le=60_000)
    call_max_age_s: float = Field(default=900.0, gt=0)
    lookups_first: bool = True  # warming yields to waiting lookups (stream/lanes.py); off only to measure it
    # Lookups fetched by a consumer of their own (stream/lookup_lane.py). On again since 7 Dec: with
    # bounded fetches it gave the lowest Kafka lookup p99 during a burst, and it spares the HTTP
    # lookups 5 ms fetches of all 48 input partitions (docs/operations.md, "Where a Kafka lookup
    # waited during a burst").
    lookup_lane_consumer: bool = True
    # call-started records handed to their agents a fetch at a time, not one Faust delivery each
    # (stream/intake.py); off only to measure it.
    warming_intake: bool = True
    # L1 changelog records handed to the producer in write order by one coroutine, not through
    # Faust's per-record producer buffer (stream/changelog.py); off only to measure it.
    l1_changelog_writer: bool = True
    # Which client that writer produces through: librdkafka (confluent-kafka), whose C threads do
    # the requests off the event loop (about half the worker CPU per warmed event and twice the
    # warm rate; callers warmed earlier wait longer for a lookup during a burst: docs/operations.md,
    # "The L1 changelog through librdkafka"), or Faust's aiokafka producer. OAUTHBEARER and
    # AWS_MSK_IAM connections use Faust's producer either way (their tokens come from async code).
    l1_changelog_producer: Literal["librdkafka", "faust"] = "librdkafka"
    # Standby copies of other workers' L1 partitions (Faust's table_standby_replicas, whose default
    # is 1). 0 since 7 Dec: with the in-memory store a copy holds memory outside L1's LRU bound and
    # costs reading every other worker's changelog; keep WARMLINE_TOPIC_PARTITIONS a multiple of the
    # worker count, or partitions may move at a rebalance (docs/operations.md, "Standby copies").
    l1_standby_replicas: int = Field(default=0, ge=0, le=3)
    # Garbage collection tuned for a large cache (warmline/gc_pauses.py): survivors of a full
    # collection frozen, a sweep for cycles every 10 minutes (sooner once the resident memory
    # doubled) at a quiet moment. Off only to measure it: full collections then paused a worker
    # 140-210 ms each.
    gc_freeze: bool = True
    # Allocations between two generation-0 collections while that tuning is on. 700, CPython's own,
    # since 7 Dec: 50,000 paused the loop longer (docs/operations.md, "Pauses of the garbage collector").
    gc_gen0_threshold: int = Field(default=700, ge=100, le=10_000_000)
    # Warm work between two polls of the event loop's sockets, in ms (warmline/loop_turns.py): what
    # an HTTP request or a lookup reply arriving meanwhile may wait behind a warm batch. 0: no bound
    # (a batch's continuations then ran together, 13-100 ms at a time during a burst).
    warming_turn_ms: float = Field(default=2.0, ge=0, le=1000)
    producer_max_batch_size: int = Field(default=16384, ge=1)
    broker_session_timeout_s: float = Field(default=60.0, gt=0)
    broker_rebalance_timeout_s: float = Field(default=60.0, gt=0)
    broker_heartbeat_interval_s: float = Field(default=3.0, gt=0)
    shutdown_grace_s: float = Field(default=10.0, ge=0, le=600)
    source: Literal["demo", "tilores"] = "demo"
    source_timeout_ms: int = Field(default=5000, ge=1)
    source_concurrency: int = Field(default=64, ge=1, le=10_000)
    demo_db: Path | None = None
    demo_latency_ms: str = "500-2000"
    admin_token: SecretStr | None = None
    api_tokens: SecretStr | None = None
    l1_ttl_s: float = Field(default=300.0, gt=0)
    l2_ttl_s: float = Field(default=3600.0, gt=0)
    negative_ttl_s: float = Field(default=30.0, ge=0)
    max_stale_s: float = Field(default=86400.0, ge=0)
    l1_max_entries: int = Field(default=100_000, ge=1)
    ttl_jitter: float = Field(default=0.1, ge=0, le=0.5)
    default_region: str = "US"
    vip_file: Path | None = None
    vip_timezone: str = "UTC"
    prewarm_concurrency: int = Field(default=32, ge=1, le=10_000)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
    chat_model: str | None = None
    brief_max_per_s: float = Field(default=20.0, gt=0)
    brief_concurrency: int = Field(default=64, ge=1, le=10_000)
    trace_pii: bool = False
    trace_hit_sample: float = Field(default=0.01, ge=0, le=1)
    trace_flush_s: float = Field(default=2.0, ge=0, le=60)
    # Contact-center platforms' own events (docs/platforms.md): your mapping files, comma-separated.
    event_mappings: str = ""
    # The URL the platforms call this worker at, as they see it (behind a proxy): Twilio signs it.
    public_url: str | None = None
    # Kafka security (stream/security.py), named after the Kafka client properties.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_ssl_ca_file: Path | None = None
    kafka_ssl_cert_file: Path | None = None
    kafka_ssl_key_file: Path | None = None
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "AWS_MSK_IAM"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_oauth_token_url: str | None = None
    kafka_oauth_client_id: str | None = None
    kafka_oauth_client_secret: SecretStr | None = None
    kafka_oauth_scope: str | None = None

    @field_validator("demo_latency_ms")
    @classmethod
    def _latency_range(cls, value: str) -> str:
        parse_latency_ms(value)
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        import phonenumbers

        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r}; use an ISO 3166 code such as US or DE")
        return region

    @field_validator("vip_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as UTC or America/New_York") from None
        return value

    @field_validator(
        "topic_call_started", "topic_lookup_request", "topic_lookup_reply", "topic_lookup_dlq", "topic_customer_changed"
    )
    @classmethod
    def _topic(cls, value: str) -> str:
        if not is_topic_name(value):
            raise ValueError(f"{value!r} is not a Kafka topic name (1 to {MAX_TOPIC_NAME} of a-z A-Z 0-9 . _ -)")
        return value

    @field_validator("chat_model")
    @classmethod
    def _chat_model(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The stand-in model (llm/fake_model.py) answers made-up text: never beside a real source.
        if value and value.partition(":")[0].strip() == "fake" and info.data.get("source") != "demo":
            raise ValueError("fake:<delay> is the demo stand-in model, allowed only with WARMLINE_SOURCE=demo")
        return value

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError(f"expected a URL like kafka://host:9092, got {value!r}")
        return value

    @property
    def group_fetch_max_wait_ms(self) -> int:
        """The fetch wait of the group (Faust) consumer: the lookups' own unless a lane consumer fetches them."""
        if self.lookup_lane_consumer and self.warming_fetch_max_wait_ms is not None:
            return self.warming_fetch_max_wait_ms
        return self.consumer_fetch_max_wait_ms

    @property
    def api_token_list(self) -> tuple[str, ...]:
        """The bearer tokens of the read API (comma-separated, so a key can be rotated); empty = open."""
        raw = self.api_tokens.get_secret_value() if self.api_tokens is not None else ""
        return tuple(t for t in (part.strip() for part in raw.split(",")) if t)

    @property
    def event_mapping_files(self) -> tuple[Path, ...]:
        """WARMLINE_EVENT_MAPPINGS as paths."""
        return tuple(Path(p.strip()) for p in self.event_mappings.split(",") if p.strip())

    @property
    def demo_latency_range_ms(self) -> tuple[float, float]:
        """The demo source's simulated latency as (low, high) ms."""
        return parse_latency_ms(self.demo_latency_ms)

    @property
    def demo_db_path(self) -> Path:
        """Where the demo directory lives (default: inside the data dir)."""
        return self.demo_db or self.data_dir / "demo.sqlite3"

    @property
    def broker_servers(self) -> str:
        """Bootstrap servers in aiokafka's ``host:port,host:port`` form."""
        hosts = self.broker.split("://", 1)[1]
        return ",".join(h if ":" in h else f"{h}:9092" for h in hosts.split(";"))

    @cached_property
    def langsmith(self) -> LangSmithSettings:
        """LangSmith's own LANGSMITH_* variables (read on first use, then kept: tracing is off unless they say so)."""
        return LangSmithSettings()

    @cached_property
    def twilio(self) -> TwilioSettings:
        """TWILIO_AUTH_TOKEN (read on first use, then kept)."""
        return TwilioSettings()

    @cached_property
    def tilores(self) -> TiloresSettings:
        """The TILORES_* settings (read on first use, then kept: the demo source never needs them)."""
        return TiloresSettings()


class TiloresSettings(WarmlineSettings):
    """TILORES_* variables (README, "Connecting to Tilores")."""

    model_config = SettingsConfigDict(env_prefix="TILORES_", frozen=True, extra="ignore")

    api_url: str = ""
    token_url: str = ""
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    scope: str | None = None
    param_phone: str = "phone"
    param_email: str = "email"
    param_customer_id: str | None = None
    phone_format: Literal["digits", "e164"] = "digits"
    record_fields: str = "id,source,first_name,last_name,phone,email"
    timeout_ms: int = Field(default=3000, ge=1)


class TwilioSettings(WarmlineSettings):
    """TWILIO_AUTH_TOKEN, Twilio's own name: set, /v1/events/twilio requires Twilio's request signature."""

    model_config = SettingsConfigDict(env_prefix="TWILIO_", frozen=True, extra="ignore")

    auth_token: SecretStr | None = None


class LangSmithSettings(WarmlineSettings):
    """The LANGSMITH_* variables warmline honours (docs/llm.md); the SDK's names, read here once."""

    model_config = SettingsConfigDict(env_prefix="LANGSMITH_", frozen=True, extra="ignore")

    tracing: bool = False
    api_key: SecretStr | None = None
    endpoint: str = "https://api.smith.langchain.com"
    project: str = "warmline"
    tracing_sampling_rate: float = Field(default=1.0, ge=0, le=1)

    @property
    def active(self) -> bool:
        """Tracing is on: LANGSMITH_TRACING=true and a key."""
        return self.tracing and self.api_key is not None and bool(self.api_key.get_secret_value())


def describe_error(error: ValidationError, prefix: str = "WARMLINE_") -> str:
    """One line per bad variable, naming it the way the operator wrote it."""
    lines = []
    for item in error.errors():
        name = prefix + "_".join(str(p) for p in item["loc"]).upper()
        lines.append(f"{name}: {item['msg']} (got {item.get('input')!r})")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read Settings from the environment; raise SettingsError naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # pydantic accepts field kwargs
    except ValidationError as e:
        raise SettingsError(describe_error(e)) from None
