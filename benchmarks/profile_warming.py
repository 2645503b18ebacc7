"""Where a warmed call-started event's CPU goes: py-spy over one worker pre-warming, in named modes.

``python -m benchmarks.profile_warming [--events N] [MODE ...]`` runs the pre-warm throughput
benchmark (``warming.prewarm_throughput``: 50 ms source, 1,000 source slots, N events at once) once
per mode, each on a fresh stack, under ``py-spy record`` (200 Hz, idle samples left out):

- ``intake-off``: Faust hands over every call-started record (``WARMLINE_WARMING_INTAKE=false``)
  and the L1 changelog goes through Faust's producer buffer, as before either change;
- ``changelog-buffer``: the intake (``warmline/stream/intake.py``), the changelog through Faust's
  producer buffer (``WARMLINE_L1_CHANGELOG_WRITER=false``);
- ``changelog-faust-producer``: the intake and the L1 changelog writer (``warmline/stream/changelog.py``)
  through Faust's aiokafka producer (``WARMLINE_L1_CHANGELOG_PRODUCER=faust``);
- ``defaults``: the intake and the writer through a librdkafka producer of its own
  (``warmline/stream/changelog_rdkafka.py``). py-spy samples Python's threads only: librdkafka's
  own threads are in the run's worker CPU per event, not in the samples.

It writes ``benchmarks/results/profiles/warming-MODE.txt``: the run's figures, the share of samples
per thread and the frames with the largest inclusive share, by thread, and named groups of frames
(Faust's per-record delivery, the L1 changelog path, ...).
py-spy samples the process from outside and slows it: the throughput figures of these runs are not
the benchmark's (``python -m benchmarks --only warming`` is).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import warming
from .report import RESULTS_DIR
from .stack import start_stack

PROFILES_DIR = RESULTS_DIR / "profiles"
#: py-spy's sampling rate.
SAMPLES_PER_S = 200
#: Frames whose inclusive share a summary lists per thread.
TOP_FRAMES = 40
#: Named groups of frames (a sample counts once per group if any frame matches).
GROUPS = {
    "Faust per-record delivery (drain loop's task pair, conductor, stream iteration)": (
        "Service.wait_first (mode/services.py)",
        "Conductor._compile_message_handler",
        "Stream._c_aiter (faust/streams.py)",
    ),
    "intake (hand-over and agent loop)": ("warmline/stream/intake.py", "consume_intake (warmline/agents/kafka_io.py)"),
    "L1 changelog: Faust's producer buffer": ("ProducerBuffer",),
    "L1 changelog: warmline's writer through Faust's producer": (
        "ChangelogWriter._run (warmline/stream/changelog.py)",  # not RdkafkaChangelogWriter._run
    ),
    "L1 changelog: librdkafka's produce calls and reports, Python side": ("RdkafkaChangelogWriter",),
    "aiokafka producer sender": ("Sender._send_produce_req", "Sender._sender_routine"),
    "aiokafka fetch (request build, response decode)": (
        "Fetcher._proc_fetch_request",
        "Fetcher._fetch_requests_routine",
    ),
    "warm batch (TieredCache.warm_many, source, L2)": ("CallStartedHandler._warm_batch",),
    "source calls (gate and demo source)": ("SourceGate.lookup",),
    "Redis client": ("redis/asyncio",),
}


@dataclass
class Profile:
    """Samples of one py-spy raw (collapsed) file: per thread, and per frame (inclusive, per thread)."""

    total: int = 0
    threads: collections.Counter[str] = field(default_factory=collections.Counter)
    frames: dict[str, collections.Counter[str]] = field(default_factory=dict)
    groups: collections.Counter[str] = field(default_factory=collections.Counter)

    @classmethod
    def read(cls, path: Path) -> Profile:
        profile = cls()
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            n = int(count)
            frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
            thread = "Faust's consumer thread" if frames[0].startswith("Thread._bootstrap") else "main thread"
            profile.total += n
            profile.threads[thread] += n
            per_frame = profile.frames.setdefault(thread, collections.Counter())
            for frame in set(frames):
                per_frame[frame] += n
            for group, needles in GROUPS.items():
                if any(needle in frame for frame in frames for needle in needles):
                    profile.groups[group] += n
        return profile

    def summary(self, title: str, events: int) -> str:
        """*title*, then shares of all samples; threads and groups also as sampled time per event
        (a sample stands for 1/200 s of a busy thread; the run's idle start and end are in it)."""
        pct, us = 100 / max(1, self.total), 1e6 / SAMPLES_PER_S / max(1, events)
        lines = [title, "", f"samples ({SAMPLES_PER_S} Hz, idle left out): {self.total}", "", "by thread:"]
        lines += [f"  {n * pct:5.1f} %  {n * us:6.0f} µs/event  {t}" for t, n in self.threads.most_common()]
        lines += ["", "groups (inclusive, of all samples):"]
        lines += [f"  {self.groups[g] * pct:5.1f} %  {self.groups[g] * us:6.0f} µs/event  {g}" for g in GROUPS]
        for thread, counter in self.frames.items():
            lines += ["", f"largest inclusive shares, {thread} (of all samples):"]
            lines += [f"  {n * pct:5.1f} %  {frame}" for frame, n in counter.most_common(TOP_FRAMES)]
        return "\n".join(lines) + "\n"


#: Each mode's worker settings (the module's docstring says what they compare).
MODES = {
    "intake-off": {"WARMLINE_WARMING_INTAKE": "false", "WARMLINE_L1_CHANGELOG_WRITER": "false"},
    "changelog-buffer": {"WARMLINE_WARMING_INTAKE": "true", "WARMLINE_L1_CHANGELOG_WRITER": "false"},
    "changelog-faust-producer": {
        "WARMLINE_WARMING_INTAKE": "true",
        "WARMLINE_L1_CHANGELOG_WRITER": "true",
        "WARMLINE_L1_CHANGELOG_PRODUCER": "faust",
    },
    "defaults": {
        "WARMLINE_WARMING_INTAKE": "true",
        "WARMLINE_L1_CHANGELOG_WRITER": "true",
        "WARMLINE_L1_CHANGELOG_PRODUCER": "librdkafka",
    },
}


async def profile_run(mode: str, events: int, workdir: Path) -> str:
    """One stack, one pre-warm run under py-spy; the summary text."""
    env = MODES[mode]
    stack = await start_stack(workdir, demo_count=max(events, 2_000), **warming.FAST_SOURCE, **env)
    raw = workdir / "profile.raw"
    try:
        spy = subprocess.Popen(
            [_py_spy(), "record", "-p", str(stack.worker.pid), "-r", str(SAMPLES_PER_S), "-f", "raw", "-o", str(raw)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await asyncio.sleep(1)  # py-spy attached before the first event
        broker_before = stack.tansu.cpu_seconds() or 0.0
        result = await warming.prewarm_throughput(stack, events)
        broker_us = ((stack.tansu.cpu_seconds() or 0.0) - broker_before) / events * 1e6
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        await asyncio.to_thread(spy.wait, 60)
    finally:
        stack.stop()
    settings = ", ".join(f"{k}={v}" for k, v in env.items())
    title = (
        f"pre-warm of {events:,} call-started events, one worker, {settings}, "
        f"under py-spy: {result.value:,} events/s, {result.detail['cpu_us_per_event']} µs of worker CPU per event, "
        f"{broker_us:.0f} µs of broker CPU per event (incl. the benchmark's bare consume floor)"
    )
    return Profile.read(raw).summary(title, events)


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy (it samples the worker from outside)")
    return found


async def main(events: int, modes: list[str]) -> None:
    PROFILES_DIR.mkdir(parents=True, exist_ok=True)
    for mode in modes:
        with tempfile.TemporaryDirectory(prefix="warmline-profile-") as tmp:
            text = await profile_run(mode, events, Path(tmp))
        path = PROFILES_DIR / f"warming-{mode}.txt"
        path.write_text(text)
        print(text.splitlines()[0], f"→ {path}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_warming", description=__doc__)
    parser.add_argument("--events", type=int, default=10_000, help="call-started events per run")
    parser.add_argument("modes", nargs="*", metavar="MODE", help=f"of {', '.join(MODES)}; all by default")
    args = parser.parse_args()
    unknown = sorted(set(args.modes) - set(MODES))
    if unknown:
        parser.error(f"unknown modes {unknown}: choose from {', '.join(MODES)}")
    asyncio.run(main(args.events, args.modes or list(MODES)))
