"""What the broker holds, read without disturbing the workers: a group's commits, the records naming some ids."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition


async def committed(bootstrap: str, group: str, topics: list[str], partitions: int) -> dict[str, int | None]:
    """The committed offset of consumer *group*, per partition of *topics* (None: nothing committed).

    Read through a consumer that names the group but only assigns (never joins, so the workers'
    group is not disturbed); aiokafka's admin OffsetFetch is not understood by Tansu.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        consumer.assign(tps)
        return {f"{tp.topic}[{tp.partition}]": await consumer.committed(tp) for tp in tps}
    finally:
        await consumer.stop()


async def trace(bootstrap: str, topics: list[str], ids: set[str]) -> dict[str, dict[str, list[int]]]:
    """Every record of *topics* whose value names one of *ids*: request id → {topic: [partition, offset]}."""
    found: dict[str, dict[str, list[int]]] = {}
    if not ids:
        return found
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=5, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not tps:
            await consumer.topics()  # fetch metadata, then look again
            tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while True:  # until a second passes with nothing new (Tansu's end offsets can be low)
            batch = await consumer.getmany(timeout_ms=1000)
            if not batch:
                return found
            for tp, records in batch.items():
                for record in records:
                    value = record.value or b""
                    for rid in ids:
                        if rid.encode() in value:
                            found.setdefault(rid, {})[tp.topic] = [tp.partition, record.offset]
    finally:
        await consumer.stop()
