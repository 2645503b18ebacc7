"""bootstrap: the one builder, its injected parts, and the one ordered start/stop list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from warmline.bootstrap import bootstrap, build_runtime
from warmline.models import CacheEntry, parse_key
from warmline.settings import Settings
from warmline.stream.changelog import ChangelogWriter
from warmline.stream.changelog_rdkafka import RdkafkaChangelogWriter
from warmline.worker import STREAM, Lifecycle, Step

from ..fakes import FakeClock, FakeL2, FakeSource, customer

pytestmark = pytest.mark.unit


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(data_dir=tmp_path, demo_db=tmp_path / "none.sqlite3", **kw)


def test_the_worker_stops_handlers_first_and_ships_traces_last(tmp_path: Path) -> None:
    worker = bootstrap(_settings(tmp_path, lookups_first=True), source=FakeSource())
    names = [step.name for step in worker.steps]
    assert names == [
        "traces",
        "source",
        "redis",
        "http sessions",
        "cache",
        "briefs",
        "vip runner",
        "lanes watch",
        "gc pauses",
        "stream",
        "dead letters",
        "handlers",
    ]
    app = worker.app
    (lifecycle,) = [c for c in app._children if isinstance(c, Lifecycle)]
    assert app.before_stop == [lifecycle.stop_inner]  # the only thing run before Faust stops its consumer


def test_without_redis_or_the_lanes_there_are_no_such_steps(tmp_path: Path) -> None:
    worker = bootstrap(_settings(tmp_path, redis_url="", lookups_first=False, gc_freeze=False), source=FakeSource())
    names = [step.name for step in worker.steps]
    assert "redis" not in names and "lanes watch" not in names and "gc pauses" not in names
    assert names.index("vip runner") == names.index("stream") - 1


def test_warm_work_takes_turns_on_the_loop_unless_the_setting_is_0(tmp_path: Path) -> None:
    worker = bootstrap(_settings(tmp_path, warming_turn_ms=2.0), source=FakeSource())
    turns = worker.app.loop_turns
    assert turns is worker.runtime.turns
    assert turns is not None
    assert turns._budget_s == 0.002
    assert b"warmline_warming_turns_total" in generate_latest(worker.runtime.metrics.registry)
    off = bootstrap(_settings(tmp_path / "off", warming_turn_ms=0), source=FakeSource())
    assert off.app.loop_turns is None and off.runtime.turns is None
    assert b"warmline_warming_turns_total" not in generate_latest(off.runtime.metrics.registry)


@pytest.mark.parametrize(("producer", "kind"), [("librdkafka", RdkafkaChangelogWriter), ("faust", ChangelogWriter)])
async def test_l1_writes_go_to_the_changelog_writer_unless_the_setting_is_off(
    tmp_path: Path, producer: str, kind: type
) -> None:
    worker = bootstrap(_settings(tmp_path, l1_changelog_producer=producer), source=FakeSource())
    table = worker.app.tables["l1"]
    writer = table.changelog_writer
    assert isinstance(writer, RdkafkaChangelogWriter | ChangelogWriter) and type(writer) is kind
    table["customer_id:C-1"] = CacheEntry(None, 1.0, 2.0)
    del table["customer_id:C-1"]
    assert len(writer) == 2  # with the writer (no broker in this test), not in Faust's buffer
    assert worker.app.producer.buffer.size == 0
    assert b'warmline_l1_changelog_records_total{outcome="written"} 2.0' in generate_latest(
        worker.runtime.metrics.registry
    )
    await writer.stop(timeout_s=0.01)  # the bound under test is the 0.01 s
    assert writer.failed == 2 and len(writer) == 0  # dropped at the stop, counted
    off = bootstrap(_settings(tmp_path / "off", l1_changelog_writer=False), source=FakeSource())
    assert off.app.tables["l1"].changelog_writer is None


def test_settings_librdkafka_refuses_leave_the_changelog_to_fausts_producer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(config: dict[str, Any]) -> None:
        raise ValueError("ssl.ca.location failed: not a PEM file")

    monkeypatch.setattr("warmline.bootstrap.librdkafka_producer", refuse)
    worker = bootstrap(_settings(tmp_path), source=FakeSource())
    assert type(worker.app.tables["l1"].changelog_writer) is ChangelogWriter
    assert "librdkafka refused the Kafka settings (ssl.ca.location failed" in caplog.text


def test_oauth_connections_write_the_changelog_through_fausts_producer(tmp_path: Path) -> None:
    oauth = {
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "OAUTHBEARER",
        "kafka_oauth_token_url": "https://idp.example/token",
        "kafka_oauth_client_id": "warmline",
        "kafka_oauth_client_secret": "s3cret",
    }
    worker = bootstrap(_settings(tmp_path, **oauth), source=FakeSource())
    assert isinstance(worker.app.tables["l1"].changelog_writer, ChangelogWriter)


async def test_the_injected_source_l2_and_clock_are_the_ones_used(tmp_path: Path) -> None:
    source, l2, clock = FakeSource({"customer_id:C-000001": customer()}), FakeL2(), FakeClock()
    runtime = build_runtime(_settings(tmp_path), source=source, l2=l2, clock=clock)
    reply = await runtime.lookups.lookup_key(parse_key("customer_id:C-000001"))
    assert reply.customer is not None and reply.customer.customer_id == "C-000001"
    assert source.calls == ["customer_id:C-000001"]
    assert l2.writes >= 1 and runtime.l2 is l2 and runtime.redis_client is None
    entry = runtime.l1.get("customer_id:C-000001")
    assert entry is not None and entry.fetched_at == clock.now
    assert "redis" not in [step.name for step in runtime.steps]  # an injected L2 is the caller's to close
    await runtime.aclose()


async def test_steps_start_in_order_and_stop_in_reverse_around_the_stream() -> None:
    log: list[str] = []

    def step(name: str, start: bool = True) -> Step:
        async def opened() -> None:
            log.append(f"start {name}")

        async def closed() -> None:
            log.append(f"stop {name}")

        return Step(name, start=opened if start else None, stop=closed)

    class App:
        def __init__(self) -> None:
            self.children: list[Any] = []
            self.before_stop: list[Any] = []

        def add_dependency(self, service: Any) -> None:
            self.children.append(service)

    app = App()
    lifecycle = Lifecycle([step("a"), step("b"), STREAM, step("c", start=False), step("d", start=False)])
    lifecycle.attach(app)
    assert app.children == [lifecycle]
    await lifecycle.on_start()
    for drain in app.before_stop:  # what WarmlineApp.on_stop does before Faust stops its consumer
        await drain()
    log.append("faust stops")
    await lifecycle.on_stop()
    assert log == ["start a", "start b", "stop d", "stop c", "faust stops", "stop b", "stop a"]


def test_a_step_after_the_stream_cannot_start() -> None:
    async def nothing() -> None:
        return None

    with pytest.raises(ValueError, match="only stops"):
        Lifecycle([STREAM, Step("late", start=nothing)])


def test_the_collector_tuning_takes_its_generation_0_threshold_from_the_settings(tmp_path: Path) -> None:
    worker = bootstrap(_settings(tmp_path, gc_gen0_threshold=5_000), source=FakeSource())
    (step,) = [step for step in worker.steps if step.name == "gc pauses"]
    pauses: Any = step.start.__self__  # type: ignore[union-attr]  # a bound method of the GcPauses
    assert pauses._gen0_threshold == 5_000
