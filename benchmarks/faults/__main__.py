"""`make faults`: run every fault under load and write benchmarks/results/faults.json + faults.png."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

from harness.fault_stack import PARTITIONS

from ..report import run_dir, write_run
from .analysis import plot
from .load import Rates
from .run import Plan, run
from .scenario import FAULTS


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults")
    parser.add_argument("--hostile", type=int, default=100_000, help="hostile messages to send (0: none)")
    parser.add_argument(
        "--random-partitions",
        action="store_true",
        help="send each hostile record to a random partition (aiokafka's default) instead of sticky batches",
    )
    parser.add_argument("--only", nargs="*", help="fault names to run (default: all)")
    parser.add_argument("--no-durable", action="store_true", help="skip the broker kill on S3 storage")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs) after the run")
    parser.add_argument("--partitions", type=int, default=PARTITIONS, help="partitions of every topic")
    parser.add_argument("--name", default="faults", help="results file name")
    parser.add_argument(
        "--rates",
        default="40,20,5",
        help="Kafka lookups, HTTP lookups and call-started per second (default: what the shared 2-core machine "
        "sustains; 150,50,20 saturated it, docs/faults.md)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    try:
        kafka, http, calls = (float(x) for x in args.rates.split(","))
    except ValueError:
        parser.error(f"--rates wants three numbers, KAFKA,HTTP,CALLS (e.g. 40,20,5), not {args.rates!r}")
    if min(kafka, http, calls) < 0 or args.hostile < 0:
        parser.error("--rates and --hostile cannot be negative")
    unknown = [name for name in args.only or () if name not in FAULTS]
    if unknown:
        parser.error(f"unknown fault(s) {unknown}; the faults are {list(FAULTS)}")
    plan = Plan(
        rates=Rates(kafka=kafka, http=http, calls=calls),
        hostile=args.hostile,
        durable=not args.no_durable,
        partitions=args.partitions,
        hostile_sticky=not args.random_partitions,
    )
    if args.only is not None:
        plan.faults = args.only
    started = time.monotonic()
    with run_dir("warmline-faults-", args.keep) as workdir:
        outcome = asyncio.run(run(workdir, plan))
    path = write_run("faults", args.name, started, outcome.report)
    plot(path.with_suffix(".png"), outcome.panels)
    print(f"wrote {path} and {path.with_suffix('.png')}")


if __name__ == "__main__":
    main()
