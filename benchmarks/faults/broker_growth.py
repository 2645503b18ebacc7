"""Does the embedded broker slow down as its logs grow? Write-and-read rate and idle CPU, by size.

`python -m benchmarks.faults.broker_growth` starts Tansu (memory storage) and keeps one consumer
reading every partition of a topic (4 unless `--partitions`; fetch wait 5 ms, like a warmline
worker). At every step it writes more one-record batches (what Faust's producer sends on Tansu)
to that topic and waits until the consumer has read them all (the rate printed), then reads the
broker's CPU over an interval in which nothing is written (the consumer only polls the end).
`--topic other` writes to a second topic that nobody reads. Measured on 2026-11-26: the rate falls
from 4,624/s to 94/s as a partition grows from 2,500 to 12,500 records (4 partitions), stays
above 3,700/s at 6,250 per partition (16 partitions), and writes nobody reads stay near 16,000/s;
the idle polling stays at about 5 % of a core throughout (docs/faults.md, hostile flood).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from warmline.commands.embedded_broker import create_topics

from .procs import Broker, CpuShares


class Poller:
    """One consumer reading *topic* from its beginning, counting what it got."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.bootstrap, self.topic, self.partitions, self.received = bootstrap, topic, partitions, 0
        self.stop = asyncio.Event()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            fetch_max_wait_ms=5,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            consumer.assign([TopicPartition(self.topic, p) for p in range(self.partitions)])
            while not self.stop.is_set():
                batches = await consumer.getmany(timeout_ms=100)
                self.received += sum(len(b) for b in batches.values())
        finally:
            await consumer.stop()


async def probe(steps: list[int], idle_s: float, same_topic: bool, partitions: int) -> list[dict[str, float]]:
    """Per step: the rate the step's records were written and read at, then the broker's CPU share
    while the consumer only polls the end of the log."""
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker("tansu", Path(tmp) / "tansu.log")
        broker.start()
        try:
            stored = "polled" if same_topic else "stored"
            await create_topics(broker.bootstrap, ["polled", "stored"], partitions)
            producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, max_batch_size=1, linger_ms=0)
            await producer.start()
            poller = Poller(broker.bootstrap, "polled", partitions)
            polling = asyncio.create_task(poller.run())
            written, rows = 0, []
            try:
                for target in steps:
                    step_start, t_write = written, time.monotonic()
                    while written < target:
                        chunk = [producer.send(stored, b"x" * 200, partition=i % partitions) for i in range(500)]
                        await asyncio.gather(*[await c for c in chunk])
                        written += len(chunk)
                    while same_topic and poller.received < written:  # measured only once caught up
                        await asyncio.sleep(0.05)
                    rate = (written - step_start) / (time.monotonic() - t_write)
                    busy = CpuShares({"broker": broker})
                    await asyncio.sleep(idle_s)
                    share = busy.shares()["broker"] or 0.0
                    rows.append(
                        {
                            "stored_records": written,
                            "write_and_read_per_s": round(rate),
                            "idle_cpu_share": share,
                        }
                    )
                    print(f"{written:>7} stored: last step at {rate:,.0f} records/s; polling the end {share:.0%} CPU")
            finally:
                poller.stop.set()
                await polling
                await producer.stop()
        finally:
            broker.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults.broker_growth", description=__doc__)
    parser.add_argument("--steps", default="0,10000,25000,50000", help="cumulative records stored at each step")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of polling measured per step")
    parser.add_argument("--topic", choices=("polled", "other"), default="polled", help="where records are stored")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of each topic")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args()
    rows = asyncio.run(
        probe([int(s) for s in args.steps.split(",")], args.idle, args.topic == "polled", args.partitions)
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
