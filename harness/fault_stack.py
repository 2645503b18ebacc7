"""The stack `make faults` hurts: Tansu (memory or S3 storage), a private Redis, the fake upstream and two workers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from warmline.commands.embedded_broker import create_topics as create_wire_topics

from .broker import Broker, MotoS3, topic_env, wire_topics
from .leaks import scan_report
from .procs import Service
from .redis_servers import ACL_PASSWORD, ACL_USER, RedisServer
from .tilores_upstream import ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, Upstream
from .workers import Worker

logger = logging.getLogger(__name__)

# Partitions of every topic. Tansu's memory engine slows down steeply once a partition it serves
# reads from holds about 10,000 one-record batches (measured 2026-11-26: 4,624 records/s written and
# read at 2,500 per partition, 94/s at 12,500); 100,000 hostile messages on 4 partitions crossed that,
# on 16 they stay below it (docs/faults.md).
PARTITIONS = 16
# The workers require tokens, as a Tilores-backed deployment should; the leak scan looks for them.
API_TOKEN, RETIRED_API_TOKEN = "faults-api-key-Hq3vN", "faults-api-key-retired-P0u"  # WARMLINE_API_TOKENS rotates
ADMIN_TOKEN = "faults-admin-token-Tk8wB"  # a test credential
# Every other secret a worker can hold, each distinctive so the leak scan finds any copy. The embedded broker
# has no SASL or TLS: with WARMLINE_KAFKA_SECURITY_PROTOCOL left PLAINTEXT the Kafka ones are held but unused
# (tests/integration/test_leaks.py has a worker use them against a closed port); LANGSMITH_TRACING stays off.
KAFKA_SECRETS = {
    "WARMLINE_KAFKA_SASL_PASSWORD": "faults-kafka-sasl-Wn4vR",
    "WARMLINE_KAFKA_OAUTH_CLIENT_SECRET": "faults-kafka-oauth-Gd7yL",
    "WARMLINE_KAFKA_SSL_KEY_PASSWORD": "faults-kafka-keypass-Bx2cM",
}
LANGSMITH_API_KEY = "faults-langsmith-key-Qe9tH"


@dataclass
class FaultStack:
    """Everything a run starts, in start order; stop() takes it down in reverse."""

    workdir: Path
    durable: bool = False
    partitions: int = PARTITIONS
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    services: list[Service] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    # L2's WARMLINE_REDIS_* when it is a Redis the run starts itself (a Sentinel set, a Cluster: redis_ha.py);
    # None: the stack's own redis-server.
    redis_env: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.topics = wire_topics(self.suffix)
        self.app_id = f"faults-{self.suffix}"
        self.s3 = MotoS3("moto", self.workdir / "moto.log") if self.durable else None
        log = self.workdir / "tansu.log"
        self.broker = Broker.on_s3(self.s3, log) if self.s3 else Broker("tansu", log)
        self.redis = RedisServer("redis", self.workdir / "redis.log") if self.redis_env is None else None
        self.upstream = Upstream("upstream", self.workdir / "upstream.log")

    def _redis_settings(self) -> dict[str, str]:
        if self.redis is None:
            return dict(self.redis_env or {})
        return {  # the ACL user's password from a file, as Kubernetes mounts a secret
            "WARMLINE_REDIS_URL": f"redis://{ACL_USER}@127.0.0.1:{self.redis.port}/0",
            "WARMLINE_REDIS_PASSWORD_FILE": str(self._secret_file("redis-password", ACL_PASSWORD)),
        }

    def _secret_file(self, name: str, value: str) -> Path:
        path = self.workdir / "secrets" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(value + "\n")  # the newline an editor or `kubectl create secret --from-file` leaves
        return path

    def secrets(self) -> dict[str, str]:
        """Every secret the workers hold, by name: what the leak scan looks for."""
        return {
            "API token": API_TOKEN,
            "retired API token": RETIRED_API_TOKEN,
            "admin token": ADMIN_TOKEN,
            "Tilores client secret": CLIENT_SECRET,
            "Redis password": ACL_PASSWORD,
            "LangSmith API key": LANGSMITH_API_KEY,
            **KAFKA_SECRETS,
        }

    def worker_env(self, index: int) -> dict[str, str]:
        return {
            "WARMLINE_APP_ID": self.app_id,
            "WARMLINE_BROKER": self.broker.url,
            **self._redis_settings(),
            "WARMLINE_REDIS_PREFIX": f"warmline:v1:{self.app_id}:",
            "WARMLINE_DATA_DIR": str(self.workdir / f"data-{index}"),
            "WARMLINE_TOPIC_PARTITIONS": str(self.partitions),
            "WARMLINE_SOURCE": "tilores",
            "WARMLINE_SHUTDOWN_GRACE_S": "5",
            "WARMLINE_LOG_LEVEL": "info",  # Faust's assignments and seeks, to trace a lost request
            "TILORES_API_URL": f"{self.upstream.url}/graphql",
            "TILORES_TOKEN_URL": f"{self.upstream.url}/token",
            "TILORES_CLIENT_ID": CLIENT_ID,
            "TILORES_CLIENT_SECRET_FILE": str(self._secret_file("tilores-client-secret", CLIENT_SECRET)),
            "WARMLINE_API_TOKENS_FILE": str(self._secret_file("api-tokens", f"{RETIRED_API_TOKEN},{API_TOKEN}")),
            "WARMLINE_ADMIN_TOKEN": ADMIN_TOKEN,
            "LANGSMITH_API_KEY": LANGSMITH_API_KEY,
            "WARMLINE_KAFKA_SASL_USERNAME": "faults",
            "WARMLINE_KAFKA_SASL_PASSWORD": KAFKA_SECRETS["WARMLINE_KAFKA_SASL_PASSWORD"],
            "WARMLINE_KAFKA_OAUTH_CLIENT_SECRET_FILE": str(
                self._secret_file("kafka-oauth-client-secret", KAFKA_SECRETS["WARMLINE_KAFKA_OAUTH_CLIENT_SECRET"])
            ),
            "WARMLINE_KAFKA_SSL_KEY_PASSWORD": KAFKA_SECRETS["WARMLINE_KAFKA_SSL_KEY_PASSWORD"],
            **topic_env(self.topics),
        }

    async def start(
        self, workers: int = 2, *, create_topics: bool = True, extra_env: dict[str, str] | None = None
    ) -> None:
        """Start the services and *workers* workers, each ready before the next; the wire topics are
        created first unless *create_topics* is False (then the first worker creates them)."""
        for service in [self.s3, self.redis, self.upstream, self.broker]:
            if service is not None:
                await asyncio.to_thread(service.start)
                self.services.append(service)
        if create_topics:
            await create_wire_topics(self.broker.bootstrap, self.topics.values(), self.partitions)
        for i in range(workers):
            env = {**self.worker_env(i), **(extra_env or {})}
            worker = Worker(f"worker-{i}", self.workdir / f"worker-{i}.log", env=env)
            self.workers.append(worker)
            await asyncio.to_thread(worker.start)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        for service in reversed(self.services):
            service.stop()

    async def warm(self, customer_ids: list[str], attempts: int = 3) -> None:
        """Look each of *customer_ids* up once over HTTP, the workers in turn, so a run starts from a warm L1.

        A key gets *attempts* tries, each on the next worker: a busy shared machine can time out a first upstream call.
        """
        sem = asyncio.Semaphore(16)
        urls = [w.url for w in self.workers]
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_TOKEN}"}) as session:

            async def one(i: int, key: str) -> None:
                answer = ""
                for attempt in range(attempts):
                    url = urls[(i + attempt) % len(urls)]
                    async with sem, session.get(f"{url}/v1/lookup", params={"customer_id": key}) as resp:
                        if resp.status == 200:
                            return
                        answer = await resp.text()
                raise RuntimeError(f"warming {key}: no 200 in {attempts} attempts; last answer {answer[:200]}")

            await asyncio.gather(*(one(i, k) for i, k in enumerate(customer_ids)))

    async def upstream_mode(self, kind: str, hang_s: float = 30.0) -> None:
        async with (
            aiohttp.ClientSession() as s,
            s.post(f"{self.upstream.url}/_fault", json={"kind": kind, "hang_s": hang_s}) as resp,
        ):
            resp.raise_for_status()

    def crashed(self) -> list[str]:
        """Workers that exited on their own (not stopped or killed by the run)."""
        return [w.name for w in self.workers if w.proc is not None and w.proc.poll() is not None]

    def tracebacks(self) -> int:
        """Tracebacks in the worker logs (an unexpected exception somewhere)."""
        total = 0
        for worker in self.workers:
            with contextlib.suppress(FileNotFoundError):
                total += worker.log_path.read_text(errors="replace").count("Traceback")
        return total

    def leak_scan(self, letter_metadata: Iterable[str] = (), pages: dict[str, str] | None = None) -> dict[str, Any]:
        """Every line the workers logged, the dead letters' *letter_metadata* and the workers' *pages* (/metrics,
        /v1/stats), searched for personal data and for every secret the workers hold."""
        texts = {w.name: w.log_path.read_text(errors="replace") for w in self.workers if w.log_path.exists()}
        texts["dead-letter metadata"] = "\n".join(letter_metadata)
        texts |= pages or {}
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        literals = {**self.secrets(), "Tilores basic credentials": basic, "Tilores access token": ACCESS_TOKEN}
        return scan_report(texts, literals)

    async def pages(self) -> dict[str, str]:
        """What each live worker shows on /metrics and /v1/stats (for the leak scan)."""
        pages = {}
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=aiohttp.ClientTimeout(total=10)
        ) as session:
            for worker in self.workers:
                for path in ("/metrics", "/v1/stats"):
                    try:
                        async with session.get(f"{worker.url}{path}") as resp:
                            pages[f"{worker.name} {path}"] = await resp.text()
                    except (aiohttp.ClientError, TimeoutError) as e:
                        logger.warning("%s %s not read: %r", worker.name, path, e)
        return pages
