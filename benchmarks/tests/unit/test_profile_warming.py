"""The profile summary counts py-spy's collapsed samples per thread, per frame (inclusive, once per
sample) and per named group."""

from __future__ import annotations

from pathlib import Path

from benchmarks.profile_warming import Profile

MAIN = "_run_module_as_main (<frozen runpy>:198);BaseEventLoop._run_once (asyncio/base_events.py:1922)"
THREAD = "Thread._bootstrap (threading.py:1002);WorkerThread.run (mode/threads.py:66)"
RAW = "\n".join(
    [
        f"{MAIN};Service.wait_first (mode/services.py:712);wait (asyncio/tasks.py:415) 6",
        f"{MAIN};CallStartedHandler._warm_batch.<locals>.warm (warmline/agents/call_started.py:214);"
        "SourceGate.lookup (warmline/sources/gate.py:80);SourceGate.lookup (warmline/sources/gate.py:91) 3",
        f"{THREAD};Fetcher._proc_fetch_request (aiokafka/consumer/fetcher.py:700) 1",
        "",
    ]
)


def test_samples_are_counted_by_thread_frame_and_group(tmp_path: Path) -> None:
    raw = tmp_path / "profile.raw"
    raw.write_text(RAW)
    profile = Profile.read(raw)
    assert profile.total == 10
    assert profile.threads == {"main thread": 9, "Faust's consumer thread": 1}
    # A frame seen twice in one sample (recursion, or two lines of one function) counts once.
    assert profile.frames["main thread"]["SourceGate.lookup (warmline/sources/gate.py)"] == 3
    assert profile.frames["main thread"]["BaseEventLoop._run_once (asyncio/base_events.py)"] == 9
    groups = profile.groups
    assert groups["Faust per-record delivery (drain loop's task pair, conductor, stream iteration)"] == 6
    assert groups["warm batch (TieredCache.warm_many, source, L2)"] == 3
    assert groups["source calls (gate and demo source)"] == 3
    assert groups["aiokafka fetch (request build, response decode)"] == 1
    text = profile.summary("title", events=10)
    # 6 samples of 1/200 s over 10 events: 3,000 µs each.
    assert "   60.0 %    3000 µs/event  Faust per-record delivery" in text
    assert "   10.0 %     500 µs/event  Faust's consumer thread" in text
