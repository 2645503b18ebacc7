"""The topic plan: which topics others own, which are warmline's, and making sure they exist.

Topics other systems own (call-started, lookup-request, customer-changed) may exist with any
partition count; warmline reads them and never writes into them. Warmline's internal topics
(the repartition topics and the L1 changelog) must have exactly WARMLINE_TOPIC_PARTITIONS
partitions: a key's owner is ``murmur2(key) % partitions`` of the changelog, and the
repartition topics are co-partitioned with it so that Faust assigns partition p of all of them
to one worker.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from ..errors import BrokerUnreachable, TopicLayoutError
from ..models.protocol import is_topic_name
from ..settings import Settings
from .broker import BrokerFacts, inspect_broker
from .security import KafkaConnection

logger = logging.getLogger(__name__)

#: The roles whose messages may need re-keying; each has one repartition topic.
ROLES = ("call-started", "lookup-request", "customer-changed")


def repartition_topic(app_id: str, role: str) -> str:
    """The internal topic that carries *role* messages re-keyed to their owner's partition."""
    return f"{app_id}-{role}-repartition"


def changelog_topic(app_id: str, table: str) -> str:
    """The changelog topic of the Faust table *table*."""
    return f"{app_id}-{table}-changelog"


@dataclass(frozen=True)
class TopicPlan:
    """Every topic one warmline app reads or writes, by who owns it."""

    app_id: str
    partitions: int
    foreign: tuple[str, ...]  # read only; any partition count; created only when missing
    reply: str  # warmline's own: the default reply topic; any partition count
    dlq: str  # warmline's own: dead letters; any partition count
    internal: tuple[str, ...]  # exactly `partitions` each

    @classmethod
    def of(cls, settings: Settings, table: str) -> TopicPlan:
        """The plan for *settings*, whose L1 table is called *table*."""
        app_id = settings.app_id
        return cls(
            app_id=app_id,
            partitions=settings.topic_partitions,
            foreign=(settings.topic_call_started, settings.topic_lookup_request, settings.topic_customer_changed),
            reply=settings.topic_lookup_reply,
            dlq=settings.topic_lookup_dlq,
            internal=(*(repartition_topic(app_id, r) for r in ROLES), changelog_topic(app_id, table)),
        )

    @property
    def outputs(self) -> tuple[str, str]:
        """The topics warmline writes for others to read."""
        return self.reply, self.dlq

    def reply_refusal(self, topic: str) -> str | None:
        """Why a reply must not go to *topic*, or None when it may.

        Replies go where clients ask, but never into a topic warmline consumes or owns: a
        request must not be able to write into call-started, the changelog or the DLQ.
        """
        if topic == self.reply:
            return None
        if not is_topic_name(topic):  # a Spring kafka_replyTopic header is not checked by the model
            return f"reply topic {topic[:100]!r} is not a valid Kafka topic name"
        if topic in self.foreign or topic in self.outputs or topic in self.internal:
            return f"reply topic {topic!r} is one warmline reads or owns; replies cannot go there"
        if topic.startswith((f"{self.app_id}-", "__")):
            return f"reply topic {topic!r} is an internal topic; replies cannot go there"
        return None


async def ensure_topics(target: str | KafkaConnection, plan: TopicPlan, facts: BrokerFacts | None = None) -> list[str]:
    """Create every missing topic of *plan*; refuse internal topics with the wrong partition count.

    Returns the names created. Raises TopicLayoutError or BrokerUnreachable.
    """
    connection = KafkaConnection.of(target)
    bootstrap = connection.bootstrap
    facts = facts or await inspect_broker(connection)
    _check_internal(plan, facts)
    missing = [t for t in (*plan.foreign, *plan.outputs, *plan.internal) if t not in facts.partitions]
    if not missing:
        return []
    admin = AIOKafkaAdminClient(**connection.kwargs(), request_timeout_ms=15_000)
    try:
        await admin.start()
        for topic in missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker was quicker
                await admin.create_topics([NewTopic(topic, plan.partitions, 1)])
            if topic in plan.foreign:
                logger.info("topic %s did not exist: created it with %d partitions", topic, plan.partitions)
    except KafkaError as e:
        raise BrokerUnreachable(f"could not create topics {missing} at {bootstrap}: {e}") from None
    finally:
        await admin.close()
    _check_internal(plan, await inspect_broker(connection))  # a racing creator may have used another count
    return missing


def _check_internal(plan: TopicPlan, facts: BrokerFacts) -> None:
    for topic in plan.internal:
        have = facts.partitions.get(topic)
        if have is not None and have != plan.partitions:
            raise TopicLayoutError(
                f"internal topic {topic} has {have} partitions but WARMLINE_TOPIC_PARTITIONS is {plan.partitions}: "
                f"set it back to {have}, or migrate (a new WARMLINE_APP_ID starts new internal topics)"
            )
