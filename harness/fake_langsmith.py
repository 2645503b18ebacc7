"""A local fake LangSmith API on 127.0.0.1:0 (own thread and loop) that records every byte it is sent.

Speaks what the SDK uses: ``GET /info``, ``POST /runs/multipart`` (plain or zstd, as /info
advertises) and ``POST /runs/batch``; can refuse multipart (404, so the SDK falls back to batch)
or hang every request (a dead endpoint that still accepts connections).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass
class Received:
    """One request as it reached the wire."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    """The body as sent (compressed, if it was)."""
    body: bytes
    """The body decompressed."""


@dataclass
class FakeLangSmith:
    """``with FakeLangSmith() as ls: ... ls.url ... ls.runs()``."""

    zstd: bool = False
    multipart: bool = True
    hang: bool = False
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._release: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._serve, name="fake-langsmith", daemon=True)
        self._received = threading.Condition()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeLangSmith:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake LangSmith did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop_event.set)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop_event = asyncio.Event()
        self._release = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, auto_decompress=False)  # zstd bodies are read as sent
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        await self._stop_event.wait()
        self._release.set()
        await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = raw
        if request.headers.get("Content-Encoding", "").lower() == "zstd":
            import zstandard

            body = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        with self._received:
            self.requests.append(
                Received(request.method, request.path, {str(k): v for k, v in request.headers.items()}, raw, body)
            )
            self._received.notify_all()
        if self.hang:
            assert self._release is not None
            await self._release.wait()
            return web.Response(status=503)
        if request.path.endswith("/info"):
            flags = {"zstd_compression_enabled": self.zstd}
            return web.json_response({"version": "0.0-fake", "instance_flags": flags, "batch_ingest_config": {}})
        if request.path.endswith("/runs/multipart"):
            return web.json_response({}, status=202) if self.multipart else web.json_response({}, status=404)
        if request.path.endswith("/runs/batch") or request.path.endswith("/runs"):
            return web.json_response({}, status=202)
        return web.json_response({"detail": "not faked"}, status=404)

    def wait_for(self, predicate: Any, timeout_s: float = 15.0) -> None:
        """Block until *predicate(self)* holds (woken by each request), or fail."""
        with self._received:
            if not self._received.wait_for(lambda: predicate(self), timeout_s):
                raise AssertionError("the fake LangSmith did not receive what was expected in time")

    def all_bytes(self) -> bytes:
        """Everything received, decompressed: headers and bodies."""
        return b"\n".join(orjson.dumps(r.headers) + b"\n" + r.body for r in self.requests)

    def runs(self) -> dict[str, dict[str, Any]]:
        """Runs by id, with the multipart parts (inputs, outputs, ...) merged in."""
        runs: dict[str, dict[str, Any]] = {}
        for r in self.requests:
            if r.path.endswith("/runs/multipart"):
                for name, payload in _parts(r.headers.get("Content-Type", ""), r.body):
                    op, run_id, *rest = name.split(".")
                    if op not in ("post", "patch"):
                        continue
                    run = runs.setdefault(run_id, {})
                    data = orjson.loads(payload)
                    if rest:
                        run[rest[0]] = data
                    else:
                        run.update(data)
            elif r.path.endswith("/runs/batch"):
                data = orjson.loads(r.body)
                for run in (data.get("post") or []) + (data.get("patch") or []):
                    runs.setdefault(str(run["id"]), {}).update(run)
        return runs


def _parts(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    out = []
    for chunk in body.split(b"--" + boundary):
        head, sep, payload = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        out.append((name, payload.removesuffix(b"\r\n")))
    return out


def main() -> None:
    """``python -m harness.fake_langsmith [--hang] [--zstd]``: serve until SIGTERM; prints the URL first."""
    import signal
    import sys

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeLangSmith(zstd="--zstd" in sys.argv, hang="--hang" in sys.argv) as fake:
        print(fake.url, flush=True)
        while not stop.wait(1.0):
            pass


if __name__ == "__main__":
    main()
