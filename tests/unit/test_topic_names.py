"""One topic-name rule (models.protocol.is_topic_name), applied by the model, the plan, the salvage and the settings."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import warmline
from warmline.agents.lookup_requests import _salvage
from warmline.errors import InvalidMessage, SettingsError
from warmline.models import LookupRequest, parse
from warmline.models.protocol import is_topic_name
from warmline.settings import Settings, load_settings
from warmline.stream.topics import TopicPlan

REFUSED = ["", ".", "..", "a b", "x" * 250, "caf\u00e9", "a/b", "topic\n"]
ACCEPTED = ["lookup-reply", "a", "my.replies_2", "x" * 249, "..."]


@pytest.mark.parametrize("name", ACCEPTED)
def test_names_kafka_accepts(name: str) -> None:
    assert is_topic_name(name)
    body = {"request_id": "r", "by": "customer_id", "value": "C-1", "reply_to": name}
    request = parse(LookupRequest, orjson.dumps(body))
    assert request.reply_to == name
    assert TopicPlan.of(Settings(app_id="wl"), "l1").reply_refusal(name) is None


@pytest.mark.parametrize("name", [*REFUSED, None, 7])
def test_names_kafka_refuses_are_refused_everywhere(name: object) -> None:
    assert not is_topic_name(name)
    body = orjson.dumps({"request_id": "r", "by": "customer_id", "value": "C-1", "reply_to": name})
    assert _salvage(body) == ("r", None)
    if isinstance(name, str):
        with pytest.raises(InvalidMessage, match="reply_to"):
            parse(LookupRequest, body)
        refusal = TopicPlan.of(Settings(app_id="wl"), "l1").reply_refusal(name)
        assert refusal is not None and "not a valid Kafka topic name" in refusal


@pytest.mark.parametrize("name", ["..", "a b", "x" * 250])
def test_a_topic_setting_kafka_refuses_stops_the_worker_naming_it(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("WARMLINE_TOPIC_LOOKUP_REPLY", name)
    with pytest.raises(SettingsError, match="WARMLINE_TOPIC_LOOKUP_REPLY"):
        load_settings()


def test_the_rule_is_written_once() -> None:
    """No second copy of the character class or Kafka's length limit anywhere in warmline."""
    root = Path(warmline.__file__).parent
    copies = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if ("A-Za-z0-9._-" in path.read_text() or "249" in path.read_text()) and path.name != "protocol.py"
    ]
    assert copies == []
