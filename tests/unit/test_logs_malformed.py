"""A request aiohttp's parser refuses is logged as one INFO line: no traceback, none of its bytes."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from warmline.logs import MalformedRequests, quiet_malformed_requests

TOKEN = "api-key-never-in-a-log-7Qd"


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@pytest.fixture(autouse=True)
def _no_filter_left_behind() -> Iterator[None]:
    yield
    server = logging.getLogger("aiohttp.server")
    for installed in [f for f in server.filters if isinstance(f, MalformedRequests)]:
        server.removeFilter(installed)


@pytest.fixture(name="port")
async def _server() -> AsyncIterator[int]:
    app = web.Application()
    app.router.add_get("/v1/lookup", _ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner.addresses[0][1]  # the port the OS gave the site
    await runner.cleanup()


async def _send(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def test_a_header_with_a_nul_is_refused_and_logged_without_its_bytes(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    quiet_malformed_requests()
    quiet_malformed_requests()  # idempotent: one filter
    server = logging.getLogger("aiohttp.server")
    assert sum(isinstance(f, MalformedRequests) for f in server.filters) == 1
    raw = f"GET /v1/lookup HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\x00\r\n\r\n".encode()
    with caplog.at_level(logging.INFO, logger="aiohttp.server"):
        answer = await _send(port, raw)
    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    [record] = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage() == "refused a malformed HTTP request from 127.0.0.1: 400 BadHttpMessage"
    assert TOKEN not in caplog.text and "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("message", "exc"),
    [
        ("Error handling request from %s", RuntimeError("a bug in a handler")),  # a 500
        ("Unhandled exception", BadHttpMessage("raised elsewhere")),  # not the parser's refusal line
    ],
)
def test_other_records_keep_their_traceback(message: str, exc: Exception) -> None:
    try:
        raise exc
    except (RuntimeError, BadHttpMessage):
        exc_info = sys.exc_info()
    record = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, message, ("127.0.0.1",), exc_info)
    assert MalformedRequests().filter(record) is True
    assert record.levelno == logging.ERROR and record.exc_info is exc_info
