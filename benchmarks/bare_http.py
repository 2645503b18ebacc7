"""The HTTP floor: a bare aiohttp server answering every GET with one fixed JSON body.

Run as its own process (``python -m benchmarks.bare_http PORT BODY_FILE``) so it is measured the way
the worker is: one process, the same load generator, the same connections.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web


def app_for(body: bytes) -> web.Application:
    """An app whose every GET answers *body* as application/json."""

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    return app


if __name__ == "__main__":
    port, body_file = int(sys.argv[1]), Path(sys.argv[2])
    web.run_app(app_for(body_file.read_bytes()), host="127.0.0.1", port=port, print=None, access_log=None)
