"""docs/platforms.md's examples, executed: each block marked ``<!-- example: NAME -->`` is used as written.

The webhook's curl line, the simulator's command and the Aircall mapping on a worker run in the
integration tests (test_platform_webhooks.py, test_simulate_platforms.py, test_platform_answers.py).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from warmline.commands.processes import free_port
from warmline.platforms import load_mappings
from warmline.platforms.calls import as_call_started, platform_payload

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "platforms"


def example(name: str) -> str:
    """The fenced block after ``<!-- example: NAME -->`` in docs/platforms.md."""
    text = (ROOT / "docs" / "platforms.md").read_text()
    found = re.search(rf"<!-- example: {re.escape(name)} -->\n```[a-z]*\n(.*?)```", text, flags=re.S)
    assert found is not None, f"docs/platforms.md has no example {name!r}"
    return found.group(1)


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []
    answer: ClassVar[int] = 202

    def do_POST(self) -> None:  # the standard library's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append({"path": self.path, "auth": self.headers["Authorization"], "body": json.loads(body)})
        self.send_response(self.answer)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(name="recorder")
def _recorder() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _lambda_handler() -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(example("connect-lambda"), "docs/platforms.md", "exec"), namespace)  # noqa: S102  # our own docs
    return namespace["lambda_handler"]


def test_the_connect_lambda_forwards_the_flow_s_event_unchanged_with_the_token(
    recorder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARMLINE_EVENTS_URL", f"{recorder}/v1/events/connect")
    monkeypatch.setenv("WARMLINE_API_TOKEN", "tok-1")
    event = json.loads((FIXTURES / "connect_lambda.json").read_text())
    _Recorder.seen.clear()
    assert _lambda_handler()(event, None) == {"warmline": "stored"}
    (seen,) = _Recorder.seen
    assert seen == {"path": "/v1/events/connect", "auth": "Bearer tok-1", "body": event}
    _Recorder.answer = 401  # a wrong token: said, and the flow goes on
    try:
        assert _lambda_handler()(event, None) == {"warmline": "refused 401"}
    finally:
        _Recorder.answer = 202


def test_the_connect_lambda_lets_the_call_go_on_when_warmline_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARMLINE_EVENTS_URL", f"http://127.0.0.1:{free_port()}/v1/events/connect")  # nobody there
    monkeypatch.setenv("WARMLINE_API_TOKEN", "tok-1")
    assert _lambda_handler()({"Name": "ContactFlowEvent"}, None) == {"warmline": "unavailable"}


def test_the_eventbridge_pattern_selects_exactly_the_contact_events_the_mapping_knows() -> None:
    pattern = json.loads(example("connect-eventbridge-pattern"))
    rules = yaml.safe_load((ROOT / "warmline" / "platforms" / "mappings" / "connect.yaml").read_text())["events"]
    mapped = {c["equals"] for r in rules for c in r["match"] if c["path"] == "detail.eventType"}
    assert set(pattern["detail"]["eventType"]) == mapped
    for name in ("connect_contact_event_queued.json", "connect_contact_event_connected_lowercase.json"):
        event = json.loads((FIXTURES / name).read_text())
        assert event["source"] in pattern["source"] and event["detail-type"] in pattern["detail-type"]


def test_the_twilio_events_filter_is_every_callback_the_mapping_reads() -> None:
    wanted = set(example("twilio-events-filter").strip().split(","))
    rules = yaml.safe_load((ROOT / "warmline" / "platforms" / "mappings" / "twilio.yaml").read_text())["events"]
    mapped: set[str] = set()
    for rule in rules:
        for c in rule["match"]:
            if c["path"] == "EventType":
                mapped |= set(c["equals"] if isinstance(c["equals"], list) else [c["equals"]])
    assert wanted == mapped


def test_the_aircall_mapping_written_from_aircall_s_docs_reads_aircall_s_events(tmp_path: Path) -> None:
    path = tmp_path / "aircall.yaml"
    path.write_text(example("aircall-mapping"))
    mappings = load_mappings([path])
    kinds = []
    for name in ("aircall_call_created.json", "aircall_call_answered.json", "aircall_call_ended.json"):
        (call,) = mappings.recognize(platform_payload((FIXTURES / name).read_bytes()), "aircall")
        assert call.call_id == "812" and call.at is not None
        kinds.append(call.kind.value)
    assert kinds == ["queued", "answered", "ended"]
    (created,) = mappings.recognize(platform_payload((FIXTURES / "aircall_call_created.json").read_bytes()))
    started = as_call_started(created)
    assert started is not None and str(started.lookup_key("US")) == "phone:+14155550177"
    (answered,) = mappings.recognize(platform_payload((FIXTURES / "aircall_call_answered.json").read_bytes()))
    assert answered.agent == "456"
    outbound = json.loads((FIXTURES / "aircall_call_created.json").read_text())
    outbound["data"]["direction"] = "outbound"
    assert mappings.recognize(outbound, "aircall") == []  # an agent's outbound call warms nobody
