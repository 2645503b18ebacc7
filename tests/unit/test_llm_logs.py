"""Machine-readable logs: JSON lines, Faust tables summarized, request ids in the lookup line."""

from __future__ import annotations

import logging

import orjson
import pytest

from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.logs import TRACE_ID, JsonFormatter, NoTables, logging_config, trace_id_of
from warmline.lookups import LookupService
from warmline.models import LookupKey
from warmline.sources.base import Priority, SourceResult

from ..fakes import FakeClock, FakeSource, customer


def _record(name: str, msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_ids_and_the_trace_id_of_the_task() -> None:
    fmt = JsonFormatter()
    line = orjson.loads(fmt.format(_record("warmline.lookup", "lookup %s", "x", request_id="r1", key="phone#ab")))
    assert line["message"] == "lookup x" and line["request_id"] == "r1" and line["key"] == "phone#ab"
    assert line["level"] == "info" and line["logger"] == "warmline.lookup" and line["time"].endswith("+00:00")
    token = TRACE_ID.set("trace-1")
    try:
        assert orjson.loads(fmt.format(_record("x", "m")))["trace_id"] == "trace-1"
    finally:
        TRACE_ID.reset(token)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "ValueError: boom" in orjson.loads(fmt.format(record))["exception"]


def test_faust_tables_become_summaries() -> None:
    record = _record("faust.worker", "Subscribed to topic(s): %r", {"a", "b", "c", "d", "e"})
    NoTables().filter(record)
    assert record.getMessage() == "Subscribed to topic(s): '<5 items>'"
    mine = _record("warmline.x", "keep %s", {"a", "b", "c", "d"})
    NoTables().filter(mine)
    assert "<4 items>" not in mine.getMessage()


def test_config_is_json_only_when_asked() -> None:
    assert logging_config("text", "info") is None
    config = logging_config("json", "debug")
    assert config is not None and config["root"]["level"] == "DEBUG"


def test_trace_id_of_a_langsmith_trace_header() -> None:
    tid = "01a21803-ea45-7384-9612-24355973a7c1"
    assert trace_id_of(f"20261126T132036234000Z{tid}.20261126T132036235000Z{'1' * 36}") == tid
    assert trace_id_of("garbage") is None and trace_id_of(None) is None


async def test_the_lookup_line_has_the_request_id_in_text_too(caplog: pytest.LogCaptureFixture) -> None:
    source = FakeSource({"customer_id:C-1": customer("C-1")})

    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        return await source.lookup(key)

    svc = LookupService(TieredCache(TableL1({}, 10), None, fetch, CachePolicy(jitter=0), clock=FakeClock()))
    with caplog.at_level(logging.DEBUG, logger="warmline.lookup"):
        await svc.lookup("customer_id", "C-1", request_id="rid-7")
    (record,) = [r for r in caplog.records if r.name == "warmline.lookup"]
    assert "request_id=rid-7" in record.getMessage() and record.__dict__["request_id"] == "rid-7"  # an `extra` field
    assert "C-1" not in record.getMessage()
