"""The harness's stunnel is ready only when its port answers TLS, and free_port never hands a port out twice."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.tls import Pki, Stunnel, make_pki
from warmline.commands import processes
from warmline.commands.processes import free_port

pytestmark = pytest.mark.unit


@pytest.fixture(name="pki", scope="module")
def _pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(name="sleeper")
def _sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_plain_listener_on_the_port_is_not_a_ready_stunnel(
    pki: Pki, sleeper: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    """The failure it guards against: stunnel could not bind, and Tansu (plaintext) held the port."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        stunnel = Stunnel("stunnel", tmp_path / "out", port=port, pki=pki, proc=sleeper, ready_timeout_s=0.5)
        with pytest.raises(RuntimeError, match="does not answer TLS"):
            stunnel.wait_ready()


def test_free_port_never_repeats_a_port_the_kernel_offers_again(monkeypatch: pytest.MonkeyPatch) -> None:
    offered = iter([41001, 41001, 41002])

    class Kernel:
        def __init__(self) -> None:
            self.port = 0

        def __enter__(self) -> Kernel:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def bind(self, address: tuple[str, int]) -> None:
            self.port = next(offered)

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(processes, "_handed_out", set())
    monkeypatch.setattr(socket, "socket", Kernel)
    assert [free_port(), free_port()] == [41001, 41002]
