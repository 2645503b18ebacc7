"""Every private Faust and aiokafka name warmline relies on, listed once and checked at start-up.

faust-streaming and aiokafka have no public hook for what warmline changes in them: the fetch
wait, the commit offset, the metadata a producer keeps. Each entry names the class, the
attribute, the warmline module that uses it and why. ``missing()`` lists the ones an upgrade took
away: the worker refuses to start with one line naming them (exit 2), and
tests/unit/test_internals.py fails, instead of a silent change in delivery.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from faust import App
from faust.serializers import codecs
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka

from ..errors import FaustInternalsChanged


@dataclass(frozen=True)
class Internal:
    """One private name: a method or class attribute, or an attribute the class's code sets on ``self``."""

    owner: type
    name: str
    used_by: str
    why: str
    on_self: bool = False  # set in the class's methods (``self.<name> = …``), not defined on the class

    def present(self) -> bool:
        """Whether the installed library still has it."""
        if not self.on_self:
            return hasattr(self.owner, self.name)
        try:
            source = inspect.getsource(self.owner)
        except (OSError, TypeError):  # no source (a compiled build): cannot tell, do not block the start
            return True
        return re.search(rf"self\.{self.name}\b\s*(:[^=\n]*)?=[^=]", source) is not None

    @property
    def label(self) -> str:
        """module.Class.name, as an error message names it."""
        return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.name}"


INTERNALS: tuple[Internal, ...] = (
    Internal(
        faust_aiokafka.AIOKafkaConsumerThread,
        "_create_worker_consumer",
        "stream/transport.py",
        "the one place Faust builds the worker's aiokafka consumer (hard-coded 1.5 s fetch wait)",
    ),
    Internal(
        AIOKafkaConsumer,
        "_fetch_max_wait_ms",
        "stream/transport.py",
        "read by AIOKafkaConsumer.start() to build its fetcher; set before the start",
        on_self=True,
    ),
    Internal(
        faust_consumer.ThreadDelegateConsumer,
        "_new_consumer_thread",
        "stream/transport.py",
        "the consumer thread class (TunedConsumerThread)",
    ),
    Internal(
        faust_consumer.ThreadDelegateConsumer,
        "_getmany",
        "stream/transport.py",
        "the fetch of Faust's active partitions: the lanes' held partitions are left out of it",
    ),
    Internal(
        faust_consumer.Consumer,
        "_get_active_partitions",
        "stream/transport.py",
        "the partitions Faust fetches now (assigned, not paused): the lookup lane's pump takes its own of them",
    ),
    Internal(
        faust_aiokafka.Consumer,
        "_to_message",
        "stream/transport.py",
        "an aiokafka record as Faust's message (with its generation): the lookup lane's pump hands these on",
    ),
    Internal(
        faust_consumer.ThreadDelegateConsumer,
        "_thread",
        "stream/transport.py",
        "the consumer thread, in whose loop the lookup lane's partitions are paused in Faust's consumer",
        on_self=True,
    ),
    Internal(
        faust_aiokafka.AIOKafkaConsumerThread,
        "_ensure_consumer",
        "stream/transport.py",
        "the thread's aiokafka consumer: the lookup lane's partitions stay assigned there, paused",
    ),
    Internal(
        faust_consumer.Consumer,
        "_new_offset",
        "stream/transport.py",
        "the offset Faust commits per partition: the delivery ledger's mark instead",
    ),
    Internal(
        faust_consumer.Consumer,
        "_acked",
        "stream/transport.py",
        "Faust's acked offsets per partition, trimmed below the mark so the list does not grow",
        on_self=True,
    ),
    Internal(
        faust_consumer.Consumer,
        "_acked_index",
        "stream/transport.py",
        "the set beside _acked, trimmed with it",
        on_self=True,
    ),
    Internal(
        faust_consumer.Consumer,
        "_gap",
        "stream/transport.py",
        "Faust's log gaps per partition: dropped, the ledger decides what is a gap",
        on_self=True,
    ),
    Internal(
        faust_consumer.Consumer,
        "_read_offset",
        "stream/transport.py",
        "Faust's per-partition read offset, below which _drain_messages drops records: cleared for input partitions",
        on_self=True,
    ),
    Internal(
        faust_aiokafka.Producer,
        "_producer_type",
        "stream/transport.py",
        "the aiokafka producer class Faust instantiates (StableMetadataProducer)",
    ),
    Internal(
        AIOKafkaClient,
        "_topics",
        "stream/metadata.py",
        "the topics the client asks metadata for; seeded so that it never shrinks",
        on_self=True,
    ),
    Internal(
        AIOKafkaProducer,
        "client",
        "stream/metadata.py",
        "the producer's client, whose class is swapped for StableMetadataClient",
        on_self=True,
    ),
    Internal(
        App,
        "_new_transport",
        "stream/app.py",
        "where Faust builds its transport: WarmlineApp returns TunedTransport (the consumer and producer above)",
    ),
    Internal(
        codecs.Codec,
        "_dumps",
        "stream/app.py",
        "a codec's encoder (Faust's documented way to add a codec, with an underscore name): EntryCodec",
    ),
    Internal(
        codecs.Codec,
        "_loads",
        "stream/app.py",
        "a codec's decoder, beside _dumps",
    ),
    Internal(
        App,
        "_consumer",
        "stream/transport.py",
        "the consumer if one exists (app.consumer would create one from a metrics scrape)",
        on_self=True,
    ),
)


def missing() -> list[Internal]:
    """The entries of INTERNALS the installed libraries lack."""
    return [internal for internal in INTERNALS if not internal.present()]


def require() -> None:
    """Raise FaustInternalsChanged naming every missing entry (the worker calls it before it starts)."""
    gone = missing()
    if gone:
        names = ", ".join(f"{i.label} (used by warmline/{i.used_by})" for i in gone)
        raise FaustInternalsChanged(
            f"this faust-streaming/aiokafka lacks what warmline relies on: {names}; "
            "install the versions pinned in pyproject.toml, or update warmline/stream/internals.py"
        )
