"""Every Prometheus metric, declared once, on a registry owned by the runtime."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# Lookup latencies span microseconds (L1) to seconds (upstream).
_LATENCY_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
)

# Queue waits span an immediate pick-up to many minutes.
_WAIT_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600)


class Metrics:
    """The metric objects of one warmline process, registered in the order /metrics lists them."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._add_lookup_metrics(self.registry)
        self._add_warming_metrics(self.registry)
        self._add_input_metrics(self.registry)
        self._add_answered_call_metrics(self.registry)

    def _add_lookup_metrics(self, r: CollectorRegistry) -> None:
        """Lookups by tier, the upstream source behind them with its breakers, and L1's size."""
        self.lookups = Counter(
            "warmline_lookups", "Lookups answered, by tier and status.", ["tier", "status"], registry=r
        )
        self.lookup_seconds = Histogram(
            "warmline_lookup_seconds", "Lookup latency by tier.", ["tier"], buckets=_LATENCY_BUCKETS, registry=r
        )
        self.source_calls = Counter(
            "warmline_source_calls", "Calls to the upstream source by outcome.", ["source", "outcome"], registry=r
        )
        self.source_seconds = Histogram(
            "warmline_source_seconds", "Upstream latency.", ["source"], buckets=_LATENCY_BUCKETS, registry=r
        )
        self.breaker_state = Gauge("warmline_breaker_open", "1 while a circuit breaker is open.", ["name"], registry=r)
        self.l1_entries = Gauge("warmline_l1_entries", "Entries in this worker's L1.", registry=r)

    def _add_warming_metrics(self, r: CollectorRegistry) -> None:
        """Whether callers were warm when looked up, how soon they were, and the warm jobs that did it."""
        self.answer_lookups = Counter(
            "warmline_answer_lookups",
            "First lookups after a call started, by whether L1 had the caller.",
            ["warm"],
            registry=r,
        )
        self.time_to_warm = Histogram(
            "warmline_time_to_warm_seconds",
            "From call-started to the caller fresh in L1.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.warm_jobs = Counter(
            "warmline_warm_jobs",
            "Warm jobs run through LookupService.warm_many, by origin (call_started: one per batch; vip; admin; "
            "replay; brief).",
            ["origin"],
            registry=r,
        )
        self.warm_keys = Counter(
            "warmline_warm_keys",
            "Keys warmed through LookupService.warm_many, by origin and outcome "
            "(warmed, already_fresh, not_found, failed, invalid).",
            ["origin", "outcome"],
            registry=r,
        )

    def _add_input_metrics(self, r: CollectorRegistry) -> None:
        """What came in: Kafka messages, the platforms' call events, and HTTP requests refused for their token."""
        self.messages = Counter(
            "warmline_messages", "Kafka messages handled, by topic and outcome.", ["topic", "outcome"], registry=r
        )
        self.platform_events = Counter(
            "warmline_platform_events",
            "Contact-center platforms' own call events, by platform and what came of them "
            "(queued: warmed via the owner; answered; ended; queued_without_caller; invalid_caller).",
            ["platform", "outcome"],
            registry=r,
        )
        self.http_auth_failures = Counter(
            "warmline_http_auth_failures",
            "HTTP requests refused for a missing or wrong bearer token, by route group (api, admin, chat).",
            ["route_group"],
            registry=r,
        )

    def _add_answered_call_metrics(self, r: CollectorRegistry) -> None:
        """Calls an agent picked up: whether the caller was warm, and how long warming and the queue took."""
        self.calls_answered = Counter(
            "warmline_calls_answered",
            "Calls an agent picked up (a platform's answered event), by platform and where the caller's "
            "record was at that moment: l1 (warm), l2, or cold.",
            ["platform", "warm"],
            registry=r,
        )
        self.queued_to_warm = Histogram(
            "warmline_queued_to_warm_seconds",
            "Answered calls: from the platform's queued time to the caller's record warm in L1.",
            ["platform"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "warmline_queue_wait_seconds",
            "Answered calls: from the platform's queued time to its answered time.",
            ["platform"],
            buckets=_WAIT_BUCKETS,
            registry=r,
        )

    def export_cache_events(self, read: Callable[[], Mapping[str, float]]) -> None:
        """Expose the TieredCache's own counts (CacheStats) as ``warmline_cache_events_total{event}``."""
        self.export_counts("warmline_cache_events", "What the two-tier cache did, by event.", "event", read)

    def export_counts(self, name: str, documentation: str, label: str, read: Callable[[], Mapping[str, float]]) -> None:
        """Expose counts kept elsewhere (e.g. CacheStats) as one counter family, read at scrape time."""
        self.registry.register(_ReadAtScrape(CounterMetricFamily, name, documentation, (label,), _keyed(read)))

    def export_lanes(self, read: Callable[[], Mapping[tuple[str, ...], float]]) -> None:
        """Expose the consumer's lag per lane and input topic as ``warmline_consumer_lag{lane,topic}``."""
        self.registry.register(
            _ReadAtScrape(
                GaugeMetricFamily,
                "warmline_consumer_lag",
                "Input records not done (the partition's high watermark as of its last fetch, less the lowest "
                "offset not acked), by lane (lookups, warming, invalidation) and topic.",
                ("lane", "topic"),
                read,
            )
        )

    def export_gauges(self, name: str, documentation: str, label: str, read: Callable[[], Mapping[str, float]]) -> None:
        """Expose values kept elsewhere (e.g. the consumer's unacked ages) as one gauge family, read at scrape time."""
        self.registry.register(_ReadAtScrape(GaugeMetricFamily, name, documentation, (label,), _keyed(read)))


_Family = type[CounterMetricFamily] | type[GaugeMetricFamily]
_Read = Callable[[], Mapping[tuple[str, ...], float]]


def _keyed(read: Callable[[], Mapping[str, float]]) -> _Read:
    """*read* with each one-label key as a tuple of label values."""
    return lambda: {(key,): value for key, value in read().items()}


class _ReadAtScrape(Collector):
    def __init__(self, family: _Family, name: str, documentation: str, labels: tuple[str, ...], read: _Read) -> None:
        self._family, self._name, self._doc, self._labels, self._read = family, name, documentation, labels, read

    def describe(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        # Declaring the name lets the registry refuse a second family of the same name at register time.
        yield self._family(self._name, self._doc, labels=list(self._labels))

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        family = self._family(self._name, self._doc, labels=list(self._labels))
        for key, value in self._read().items():
            family.add_metric(list(key), value)
        yield family
