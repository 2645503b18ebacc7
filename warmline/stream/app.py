"""The faust.App, its topics (explicit partitions) and the L1 table, built from Settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TopicT

from ..loop_turns import LoopTurns
from ..models.protocol import MAX_PREWARM_BODY_BYTES
from ..settings import Settings
from .changelog import ENTRY_CODEC, L1Table
from .intake import Intake
from .lanes import Lanes
from .lookup_lane import LookupLane
from .security import KafkaConnection, kafka_connection
from .topics import changelog_topic, repartition_topic
from .transport import TunedTransport

L1_TABLE = "l1"


class WarmlineApp(faust.App):
    """faust.App whose Kafka transport honours a configurable consumer fetch wait."""

    fetch_max_wait_ms: int = 500
    #: Lookups first (``stream/lanes.py``): the consumer leaves out what it holds; None, nothing held.
    lanes: Lanes | None = None
    #: The lookup lane's own consumer (``stream/lookup_lane.py``); None, Faust's consumer fetches it all.
    lookup_lane: LookupLane | None = None
    #: Warm work's turns on the event loop (``warmline/loop_turns.py``); None, unbounded.
    loop_turns: LoopTurns | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Topics whose records the consumer hands to an intake, not to Faust's streams (``stream/intake.py``).
        self.intakes: dict[str, Intake] = {}
        #: Awaited first when the worker stops, while consumer and producer still run: the steps after
        #: STREAM in the worker's start/stop list (worker.Lifecycle; the handler drain, the dead letters).
        self.before_stop: list[Callable[[], Awaitable[None]]] = []

    async def on_stop(self) -> None:
        """Drain in-flight handlers first, then let Faust stop the consumer (committing what was acked)."""
        for drain in self.before_stop:
            await drain()
        await super().on_stop()

    def _new_transport(self) -> Any:
        url = self.conf.broker_consumer[0]
        if url.scheme in ("kafka", "aiokafka"):
            return TunedTransport(self.conf.broker_consumer, self)
        return super()._new_transport()


@dataclass(frozen=True)
class Routed:
    """A foreign topic and warmline's internal topic that carries its messages re-keyed to their owner."""

    source: TopicT  # owned by another system: any partition count, never written by warmline
    repartition: TopicT  # internal: WARMLINE_TOPIC_PARTITIONS partitions, co-partitioned with L1


@dataclass(frozen=True)
class Topics:
    """The topics of the wire contract, all raw bytes: warmline parses messages itself (bad ones go to the DLQ)."""

    call_started: Routed
    lookup_request: Routed
    customer_changed: Routed


@dataclass(frozen=True)
class StreamApp:
    """The App with its topics and L1 table."""

    app: WarmlineApp
    topics: Topics
    l1_table: L1Table


def _routed(app: faust.App, name: str, role: str, settings: Settings) -> Routed:
    def raw(topic: str, **kwargs: Any) -> TopicT:
        return app.topic(
            topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw", **kwargs
        )

    # Faust creates internal topics when it subscribes; the worker has already checked their count.
    internal = raw(repartition_topic(settings.app_id, role), partitions=settings.topic_partitions, internal=True)
    return Routed(source=raw(name), repartition=internal)


def faust_credentials(connection: KafkaConnection) -> Any:
    """*connection*'s TLS and SASL as Faust's ``broker_credentials`` (None for plaintext)."""
    from faust.auth import OAuthCredentials, SASLCredentials, SSLCredentials

    security = connection.security
    ctx = security.get("ssl_context")
    mechanism = security.get("sasl_mechanism")
    if mechanism == "OAUTHBEARER":
        return OAuthCredentials(oauth_cb=security["sasl_oauth_token_provider"], ssl_context=ctx)
    if mechanism is not None:
        return SASLCredentials(
            username=security.get("sasl_plain_username"),
            password=security.get("sasl_plain_password"),
            ssl_context=ctx,
            mechanism=mechanism,
        )
    return SSLCredentials(ctx) if ctx is not None else None


def build_app(settings: Settings) -> StreamApp:
    """Build the App for *settings*; nothing connects until the worker starts."""
    app = WarmlineApp(settings.app_id, **faust_config(settings))
    app.fetch_max_wait_ms = settings.group_fetch_max_wait_ms
    topics = Topics(
        call_started=_routed(app, settings.topic_call_started, "call-started", settings),
        lookup_request=_routed(app, settings.topic_lookup_request, "lookup-request", settings),
        customer_changed=_routed(app, settings.topic_customer_changed, "customer-changed", settings),
    )
    return StreamApp(app, topics, _l1_table(app, settings))


def faust_config(settings: Settings) -> dict[str, Any]:
    """The faust.App settings (all but its id) that *settings* make."""
    return {
        "broker": settings.broker,
        "broker_credentials": faust_credentials(kafka_connection(settings)),
        # Memory store only: Faust's RocksDB store needs the current event's partition for every write
        # (faust/stores/rocksdb.py asserts it), and L1 is written from HTTP views too (measured).
        "store": "memory://",
        "autodiscover": False,
        "datadir": str(settings.data_dir / "faust"),
        "web_enabled": True,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "web_bind": "127.0.0.1" if settings.web_host in ("127.0.0.1", "localhost") else "0.0.0.0",  # noqa: S104  # workers serve their peers
        "canonical_url": f"http://{settings.web_host}:{settings.web_port}",
        # The largest body any route takes; the HTTP middleware holds every other route to less.
        "web_application_options": {"client_max_size": MAX_PREWARM_BODY_BYTES},
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": 1,
        "producer_max_batch_size": settings.producer_max_batch_size,
        "broker_max_poll_records": settings.consumer_max_poll_records,
        "broker_session_timeout": settings.broker_session_timeout_s,
        "broker_rebalance_timeout": settings.broker_rebalance_timeout_s,
        "broker_heartbeat_interval": settings.broker_heartbeat_interval_s,
        # A new group reads from the start (Faust on Tansu ignores "latest", measured); the
        # call-started agent skips calls older than WARMLINE_CALL_MAX_AGE_S, so history is cheap.
        "consumer_auto_offset_reset": "earliest",
        # Faust would wait without limit for every started event to be acked; the handler drain
        # (WARMLINE_SHUTDOWN_GRACE_S) decides instead and leaves unfinished events for the next owner.
        "stream_wait_empty": False,
        "table_cleanup_interval": 3600.0,  # our own sweep expires entries; Faust's is for windowed tables
        # Standby copies of other workers' L1 partitions: none by default (docs/operations.md, "Standby copies").
        "table_standby_replicas": settings.l1_standby_replicas,
    }


def _l1_table(app: faust.App, settings: Settings) -> L1Table:
    """The L1 table on *app*, with its changelog topic: raw string keys, CacheEntry values (ENTRY_CODEC)."""
    n = settings.topic_partitions
    # Faust derives a table's serializers from its types (json) and takes no argument for them, so
    # the changelog topic is declared here and the table's own attributes are set to match.
    # Raw keys matter: the owner of a key is found by hashing the same bytes clients key by.
    changelog = app.topic(
        changelog_topic(settings.app_id, L1_TABLE),
        key_type=str,
        key_serializer="raw",
        value_serializer=ENTRY_CODEC,
        partitions=n,
        compacting=True,
        deleting=False,
        acks=False,
        internal=True,
    )
    table = L1Table(  # its writes go to a ChangelogWriter once the worker attaches one (bootstrap)
        app,
        name=L1_TABLE,
        beacon=app.tables.beacon,
        partitions=n,
        key_type=str,
        changelog_topic=changelog,
        use_partitioner=True,  # writes come from HTTP views too; the key's partition is the owner's
    )
    app.tables.add(table)
    table.key_serializer = "raw"
    table.value_serializer = ENTRY_CODEC
    return table
