"""The group consumer's fetch wait: long on the embedded broker only when lookups have a consumer of their own."""

from __future__ import annotations

from warmline.settings import Settings
from warmline.stream.app import build_app
from warmline.stream.broker import EMBEDDED_CLUSTER_ID, BrokerFacts, apply_broker_profile

EMBEDDED = BrokerFacts(EMBEDDED_CLUSTER_ID)


def test_on_the_embedded_broker_the_group_consumer_waits_longer_than_the_lookup_lane() -> None:
    tuned, applied = apply_broker_profile(Settings(), EMBEDDED)  # the lane has its consumer by default
    assert applied["consumer_fetch_max_wait_ms"] == 5 and applied["warming_fetch_max_wait_ms"] == 50
    assert build_app(tuned).app.fetch_max_wait_ms == 50


def test_without_a_lookup_lane_the_group_consumer_fetches_lookups_at_their_wait() -> None:
    tuned, _ = apply_broker_profile(Settings(lookup_lane_consumer=False), EMBEDDED)
    assert build_app(tuned).app.fetch_max_wait_ms == 5


def test_unset_the_group_consumer_waits_as_the_lookups_do() -> None:
    settings = Settings(consumer_fetch_max_wait_ms=120)
    assert settings.group_fetch_max_wait_ms == 120
    assert apply_broker_profile(settings, BrokerFacts("kafka-cluster"))[0].group_fetch_max_wait_ms == 120
