"""Tansu, the embedded Kafka-compatible broker, on memory storage or on moto's S3; and the wire topics' names."""

from __future__ import annotations

import sys
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from warmline.commands.embedded_broker import tansu_binary

from .procs import Service

WIRE = ("call_started", "lookup_request", "lookup_reply", "lookup_dlq", "customer_changed")


def random_suffix() -> str:
    """A short unique suffix for topic names, app ids and Redis prefixes."""
    return uuid.uuid4().hex[:8]


def wire_topics(suffix: str = "") -> dict[str, str]:
    """The five wire topics by role (``lookup_request`` → ``lookup-request-<suffix>``); unsuffixed without one."""
    return {n: n.replace("_", "-") + (f"-{suffix}" if suffix else "") for n in WIRE}


def topic_env(topics: dict[str, str]) -> dict[str, str]:
    """The worker settings naming *topics* (``WARMLINE_TOPIC_LOOKUP_REQUEST`` …)."""
    return {f"WARMLINE_TOPIC_{n.upper()}": t for n, t in topics.items()}


@dataclass
class MotoS3(Service):
    """moto's S3 server: the durable storage behind Tansu's s3:// engine."""

    bucket: str = "tansu"

    def command(self) -> list[str]:
        return [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(self.port)]

    def start(self) -> None:
        super().start()
        request = urllib.request.Request(f"{self.endpoint}/{self.bucket}", method="PUT")  # noqa: S310  # create the bucket
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310  # our own localhost server
            assert resp.status == 200

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def broker_env(self) -> dict[str, str]:
        """What Tansu needs to use this server as its S3."""
        return {
            "AWS_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": "faults",
            "AWS_SECRET_ACCESS_KEY": "faults",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }


@dataclass
class Broker(Service):
    """Tansu on memory storage, or on s3://BUCKET/ (survives kill -9) with ``Broker.on_s3``.

    *advertised_port* is where clients are told to connect: its own port, or a TLS terminator's (harness.tls).
    """

    storage: str = "memory://tansu/"
    advertised_port: int | None = None

    @classmethod
    def on_s3(cls, s3: MotoS3, log_path: Path) -> Broker:
        """Tansu storing its logs in *s3*'s bucket."""
        return cls("tansu", log_path, env=s3.broker_env(), storage=f"s3://{s3.bucket}/")

    def command(self) -> list[str]:
        listener = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port or self.port}"
        return [
            tansu_binary(), "broker", "--listener-url", listener, "--advertised-listener-url", advertised,
            "--storage-engine", self.storage,
        ]  # fmt: skip

    @property
    def bootstrap(self) -> str:
        """``host:port`` for aiokafka: where clients are told to connect."""
        return f"127.0.0.1:{self.advertised_port or self.port}"

    @property
    def url(self) -> str:
        """The broker in Faust's URL form (WARMLINE_BROKER)."""
        return f"kafka://{self.bootstrap}"
