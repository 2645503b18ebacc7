"""The LangSmith sender in a process of its own, so building and posting runs never takes the worker's GIL.

This module is the worker's end; ``trace_sender.py`` is the process. The worker's tracer still
only appends slotted records (trace_records.py) to its queue on the event loop; its shipping
thread pickles what is queued, twice a second, and writes it to the process's stdin (a blocking
write releases the GIL). There an ordinary thread-mode ``LangSmithTracer`` builds (trace_runs.py),
masks and posts the runs. Measured: a sending *thread* in the worker, even at 31 µs of CPU per
run, kept every-hit tracing at 1.7× the L1-hit p50 on two busy cores, because it competes with
the event loop for the GIL. Frames are
``kind (1 byte) + length (4 bytes) + body``: ``C`` config (JSON, first), ``R`` records (a pickle
of queue items: our own process, our own types), ``F`` flush (a timeout; answered with one line
``ok sent failed dropped``). EOF on stdin ends the process.
"""

from __future__ import annotations

import contextlib
import pickle
import select
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any

import orjson

HEADER = struct.Struct("!cI")


def read_frame(stream: IO[bytes]) -> tuple[bytes, bytes] | None:
    """The next (kind, body) from *stream*, or None at EOF."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    kind, length = HEADER.unpack(head)
    body = stream.read(length)
    return (kind, body) if len(body) == length else None


class SenderProcess:
    """The worker's end of the pipe: ships queue items, asks for flushes, closes with a deadline."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "warmline.llm.trace_sender"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a SIGTERM to the worker's group must not kill it before the flush
        )
        self._lock = threading.Lock()
        self.alive = self._write(b"C", orjson.dumps(config))

    def _write(self, kind: bytes, body: bytes) -> bool:
        stdin = self._proc.stdin
        if stdin is None:
            return False
        try:
            with self._lock:
                stdin.write(HEADER.pack(kind, len(body)) + body)
                stdin.flush()
        except (BrokenPipeError, OSError, ValueError):  # the sender died or was closed: tracing stops, lookups go on
            self.alive = False
            return False
        return True

    def ship(self, items: Sequence[object]) -> bool:
        """Hand *items* (queue entries) to the sender process; False when it is gone."""
        return self.alive and self._write(b"R", pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL))

    def flush(self, timeout_s: float) -> tuple[bool, int, int, int]:
        """Ask the process to post what it holds within *timeout_s*: (all sent, sent, failed, dropped) so far."""
        stdout = self._proc.stdout
        if not self.alive or stdout is None or not self._write(b"F", str(timeout_s).encode()):
            return False, 0, 0, 0
        ready, _, _ = select.select([stdout], [], [], timeout_s + 1.0)
        line = stdout.readline() if ready else b""
        try:
            ok, sent, failed, dropped = (int(v) for v in line.split())
        except ValueError:
            return False, 0, 0, 0
        return bool(ok), sent, failed, dropped

    def close(self, wait_s: float = 1.0) -> None:
        """End the process: EOF on its stdin, then a kill if it has not gone within *wait_s*."""
        with contextlib.suppress(OSError, ValueError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        try:
            self._proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
