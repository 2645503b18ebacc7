"""The simulator's platform events are each platform's own: the built-in mappings read them back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from warmline.commands.simulate_platforms import PLATFORMS, Kind, call_id_for, platform_event
from warmline.platforms import load_mappings
from warmline.platforms.calls import platform_payload

MAPPINGS = load_mappings()
AT = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("kind", ["queued", "answered", "ended"])
def test_each_simulated_event_is_recognised_as_its_kind(platform: str, kind: Kind) -> None:
    call_id = call_id_for(platform, 7, "0123456789abcdef")
    body = platform_event(platform, kind, call_id, "+14155550123", AT)
    (call,) = MAPPINGS.recognize(platform_payload(body.data), platform)
    assert (call.kind.value, call.call_id, call.at) == (kind, call_id, AT)
    numbered = kind == "queued" or (kind == "answered" and platform != "connect")  # Connect's EventBridge: none
    assert (call.caller is not None) == numbered
    if numbered:
        assert call.caller is not None and call.caller.endswith("+14155550123")


def test_call_ids_are_distinct_and_shaped_as_the_platform_s() -> None:
    sids = {call_id_for("twilio", n, "0123456789abcdef") for n in range(1000)}
    assert len(sids) == 1000 and all(len(s) == 34 and s.startswith("WT") for s in sids)
    assert call_id_for("connect", 1, "0123456789abcdef") != call_id_for("connect", 2, "0123456789abcdef")
