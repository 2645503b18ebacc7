"""The processes a fault run owns and hurts: Tansu, a private redis-server, moto's S3, the fake upstream, workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from warmline.commands.dev import wait_ready
from warmline.commands.embedded_broker import tansu_binary
from warmline.commands.processes import free_port, stop_process, wait_port

from ..redis_servers import ACL_PASSWORD, ACL_USER
from ..stack import cpu_seconds


def _clean_environ() -> dict[str, str]:
    """This process's environment without WARMLINE_* / TILORES_* (each child gets exactly what the run sets)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("WARMLINE_", "TILORES_"))}


def _signal(proc: subprocess.Popen[bytes] | None, sig: signal.Signals) -> None:
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)


@dataclass
class Service:
    """One child process in its own session, restartable on the same port, with its log appended to a file."""

    name: str
    log_path: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                env={**_clean_environ(), **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready()

    def wait_ready(self) -> None:
        assert self.proc is not None
        wait_port(self.port, self.proc, self.name)

    def kill(self) -> None:
        """SIGKILL, and reap."""
        _signal(self.proc, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)
        self.proc = None

    def freeze(self) -> None:
        _signal(self.proc, signal.SIGSTOP)

    def thaw(self) -> None:
        _signal(self.proc, signal.SIGCONT)

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGCONT (in case it is frozen), then SIGTERM → SIGKILL."""
        if self.proc is not None:
            self.thaw()
            stop_process(self.proc, grace_s=grace_s)
            self.proc = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float | None:
        """User + system CPU seconds of the process so far (Linux /proc); None when it is not running."""
        if not self.alive:
            return None
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)


@dataclass
class RedisServer(Service):
    """A private redis-server without persistence (stopping it empties it), with redis_servers.ACL_USER."""

    def command(self) -> list[str]:
        return [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--user", ACL_USER, "on", f">{ACL_PASSWORD}", "~*", "&*", "+@all",
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


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
    """Tansu on memory storage, or on s3://BUCKET/ (survives kill -9) when *storage* says so."""

    storage: str = "memory://tansu/"

    def command(self) -> list[str]:
        listener = f"tcp://127.0.0.1:{self.port}"
        return [
            tansu_binary(), "broker", "--listener-url", listener, "--advertised-listener-url", listener,
            "--storage-engine", self.storage,
        ]  # fmt: skip

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Upstream(Service):
    """The fake Tilores of benchmarks.faults.upstream, with its /_fault control route."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "benchmarks.faults.upstream", "--port", str(self.port)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Worker(Service):
    """`python -m warmline worker`; ready when /readyz answers 200."""

    def __post_init__(self) -> None:
        self.env["WARMLINE_WEB_PORT"] = str(self.port)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "warmline", "worker"]

    def wait_ready(self) -> None:
        assert self.proc is not None
        wait_ready(self.url, self.proc, timeout_s=120)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def terminate(self) -> int:
        """SIGTERM (graceful: in-flight handlers get the shutdown grace); the exit code."""
        assert self.proc is not None
        _signal(self.proc, signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.proc = None
        return code


class CpuShares:
    """CPU used by each of some services, and by this driver, between construction and shares(), as a share of one core.

    The driver's share tells whether its own figures can be trusted: a driver near one core (its
    event loop's limit) timestamps replies late.
    """

    def __init__(self, services: dict[str, Service]) -> None:
        self._services = services
        self._t0 = time.monotonic()
        self._start = {name: s.cpu_seconds() for name, s in services.items()}
        self._driver_start = time.process_time()

    def shares(self) -> dict[str, float | None]:
        elapsed = time.monotonic() - self._t0
        out: dict[str, float | None] = {"driver": round((time.process_time() - self._driver_start) / elapsed, 2)}
        for name, service in self._services.items():
            now, then = service.cpu_seconds(), self._start[name]
            out[name] = round((now - then) / elapsed, 2) if now is not None and then is not None and elapsed else None
        return out
