"""What a worker or a command learns from the broker before it starts: reachable? embedded? which topics?"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiokafka.client import AIOKafkaClient
from aiokafka.cluster import ClusterMetadata
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest

from ..errors import BrokerUnreachable
from ..settings import Settings
from .security import KafkaConnection, kafka_connection

#: Tansu's default cluster id (`tansu broker --cluster-id`); `warmline dev` keeps it.
EMBEDDED_CLUSTER_ID = "tansu_cluster"

#: Settings the embedded broker needs, applied when it is found and the variable is not set:
#: it answers a fetch only when the fetch wait expires (so 5 ms, not Faust's 1500), gets end
#: offsets wrong for batched produces (so one record a batch), waits about half the session
#: timeout on a group join and answers LeaveGroup with GroupCoordinatorNotAvailable (so short
#: group timeouts, or a restarted worker waits out the old member's 60 s session). Since every
#: fetch takes the whole wait there, a worker's consumers poll all the time: the group consumer,
#: which fetches only warming and invalidations beside the lookup lane's, waits 50 ms, which
#: halves an idle worker's CPU (benchmarks/results/idle.json) and delays a warm by 25 ms on average.
EMBEDDED_PROFILE: dict[str, float | int] = {
    "consumer_fetch_max_wait_ms": 5,
    "warming_fetch_max_wait_ms": 50,
    "producer_max_batch_size": 1,
    "broker_session_timeout_s": 6.0,
    "broker_rebalance_timeout_s": 3.0,
    "broker_heartbeat_interval_s": 1.0,
}


@dataclass(frozen=True)
class BrokerFacts:
    """One all-topics metadata answer."""

    cluster_id: str | None
    partitions: dict[str, int] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        """True for the embedded broker (Tansu with its default cluster id)."""
        return self.cluster_id == EMBEDDED_CLUSTER_ID


async def inspect_broker(target: str | KafkaConnection, timeout_s: float = 10.0) -> BrokerFacts:
    """Ask the broker at *target* for its cluster id and every topic's partition count.

    A secured connection is probed first, so that a refused certificate or credentials end in one
    line naming the setting (KafkaAuthFailed) instead of aiokafka's retries.
    """
    connection = KafkaConnection.of(target)
    bootstrap = connection.bootstrap
    if connection.protocol != "PLAINTEXT":
        await connection.probe(timeout_s)
    client = AIOKafkaClient(**connection.kwargs(), request_timeout_ms=int(timeout_s * 1000))
    try:
        async with asyncio.timeout(timeout_s):
            await client.bootstrap()
            answer = await client.send(client.get_random_node(), MetadataRequest(None))
    except (KafkaError, TimeoutError, OSError) as e:
        raise BrokerUnreachable(
            f"no Kafka broker answered at {bootstrap} ({type(e).__name__}): start one (`make run` starts the "
            "embedded broker on 127.0.0.1:9092) or set WARMLINE_BROKER=kafka://HOST:PORT"
        ) from None
    finally:
        await client.close()
    cluster = ClusterMetadata()
    cluster.update_metadata(answer)
    counts = {topic: len(cluster.partitions_for_topic(topic) or ()) for topic in cluster.topics()}
    return BrokerFacts(getattr(answer, "cluster_id", None), counts)


def apply_broker_profile(settings: Settings, facts: BrokerFacts) -> tuple[Settings, dict[str, float | int]]:
    """*settings* with the embedded broker's profile for every variable the environment left unset.

    Returns the settings and what was applied (empty unless the broker is the embedded one).
    """
    if not facts.embedded:
        return settings, {}
    applied = {name: value for name, value in EMBEDDED_PROFILE.items() if name not in settings.model_fields_set}
    return settings.model_copy(update=applied), applied


async def settings_for_broker(settings: Settings) -> tuple[Settings, BrokerFacts, str | None]:
    """Inspect the configured broker and apply its profile; the third item says what was applied, if anything."""
    facts = await inspect_broker(kafka_connection(settings))
    tuned, applied = apply_broker_profile(settings, facts)
    note = None
    if applied:
        pairs = " ".join(f"WARMLINE_{k.upper()}={v:g}" for k, v in applied.items())
        note = f"embedded broker (Tansu) at {settings.broker_servers}: using {pairs}"
    return tuned, facts, note
