"""The middleware: which paths it guards, rotation, admin 401/403, counted refusals, body limits, JSON errors."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from warmline.http.auth import RouteGroup, TokenCheck, bearer, matches_any, route_group
from warmline.http.middleware import build_middleware
from warmline.metrics import Metrics
from warmline.models.protocol import MAX_BODY_BYTES, MAX_PREWARM_BODY_BYTES
from warmline.settings import load_settings

Client = TestClient[web.Request, web.Application]
Serve = Callable[[TokenCheck], Awaitable[tuple[Client, Metrics]]]


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/v1/lookup", RouteGroup.API),
        ("/v1/lookup/batch", RouteGroup.API),
        ("/v1/stats", RouteGroup.API),
        ("/chat/invoke", RouteGroup.CHAT),
        ("/chat/input_schema", RouteGroup.CHAT),
        ("/v1/prewarm", RouteGroup.ADMIN),
        ("/v1/cache/phone:+14155550123", RouteGroup.ADMIN),
        ("/table/l1/phone:+14155550123/", RouteGroup.API),
        ("/router/", RouteGroup.API),
        ("/healthz", None),
        ("/readyz", None),
        ("/metrics", None),
        ("/openapi.json", None),
        ("/v1/lookups", None),  # whole segments only; an unknown path is a 404 anyway
        ("/chatter", None),
    ],
)
def test_route_groups_by_prefix(path: str, group: RouteGroup | None) -> None:
    assert route_group(path) is group


def test_bearer_header_parsing() -> None:
    assert bearer("Bearer abc") == b"abc"
    assert bearer("bearer  abc ") == b"abc"
    assert bearer("Basic abc") is None
    assert bearer("Bearer ") is None
    assert bearer(None) is None
    assert bearer("Bearer \udcff") == "\udcff".encode("utf-8", "surrogatepass")  # any header text, no crash


def test_matches_any_checks_every_token() -> None:
    assert matches_any(b"new", (b"old", b"new"))
    assert matches_any(b"old", (b"old", b"new"))
    assert not matches_any(b"ne", (b"old", b"new"))
    assert not matches_any(None, (b"old",))
    assert not matches_any(b"x", ())


def test_token_check_from_settings_values() -> None:
    check = TokenCheck.build(("a", "b"), SecretStr(""))
    assert check.api_tokens == (b"a", b"b") and check.admin_token is None
    assert TokenCheck.build((), None).api_open


@pytest.fixture(name="serve")
async def _serve() -> AsyncIterator[Serve]:
    clients: list[Client] = []

    async def serve(check: TokenCheck) -> tuple[Client, Metrics]:
        metrics = Metrics()
        app = web.Application(
            middlewares=[build_middleware(check, metrics.http_auth_failures)], client_max_size=MAX_PREWARM_BODY_BYTES
        )

        async def ok(request: web.Request) -> web.Response:
            return web.json_response({"ok": True, "read": len(await request.read())})

        async def boom(request: web.Request) -> web.Response:
            raise RuntimeError("phone:+14155550123 broke")  # a message that must not reach the client or the log

        for path in ("/v1/lookup", "/v1/stats", "/chat/invoke", "/healthz", "/metrics", "/v1/cache/{key}"):
            app.router.add_get(path, ok)
        app.router.add_post("/v1/prewarm", ok)
        app.router.add_post("/v1/lookup/batch", ok)
        app.router.add_get("/v1/boom", boom)
        client = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await client.start_server()
        clients.append(client)
        return client, metrics

    yield serve
    for client in clients:
        await client.close()


def _failures(metrics: Metrics, group: str) -> float:
    value = metrics.registry.get_sample_value("warmline_http_auth_failures_total", {"route_group": group})
    return value or 0.0


async def test_api_tokens_guard_reads_and_rotate(serve: Serve) -> None:
    client, metrics = await serve(TokenCheck.build(("old-key", "new-key"), SecretStr("adm")))
    for path in ("/v1/lookup", "/v1/stats", "/chat/invoke"):
        resp = await client.get(path)
        assert resp.status == 401 and resp.content_type == "application/json"
        assert "error" in await resp.json()
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        for token in ("old-key", "new-key"):
            assert (await client.get(path, headers={"Authorization": f"Bearer {token}"})).status == 200
    assert (await client.get("/v1/lookup", headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await client.get("/v1/lookup", headers={"Authorization": "Basic old-key"})).status == 401
    assert (await client.get("/v1/lookup", headers={"Authorization": "Bearer adm"})).status == 401  # not an API key
    for path in ("/healthz", "/metrics"):
        assert (await client.get(path)).status == 200
    assert _failures(metrics, "api") == 5  # 2 unauthenticated + wrong + basic + admin token
    assert _failures(metrics, "chat") == 1


async def test_without_api_tokens_reads_are_open(serve: Serve) -> None:
    client, metrics = await serve(TokenCheck.build((), SecretStr("adm")))
    assert (await client.get("/v1/lookup")).status == 200
    assert (await client.get("/chat/invoke", headers={"Authorization": "Bearer anything"})).status == 200
    assert (await client.post("/v1/prewarm")).status == 401  # admin stays guarded
    assert _failures(metrics, "api") == 0 and _failures(metrics, "admin") == 1


async def test_admin_token_wrong_missing_or_unset(serve: Serve) -> None:
    client, metrics = await serve(TokenCheck.build(("k",), SecretStr("adm")))
    assert (await client.post("/v1/prewarm", headers={"Authorization": "Bearer adm"})).status == 200
    assert (await client.get("/v1/cache/phone:1", headers={"Authorization": "Bearer adm"})).status == 200
    assert (await client.post("/v1/prewarm", headers={"Authorization": "Bearer k"})).status == 401  # API key ≠ admin
    assert (await client.post("/v1/prewarm")).status == 401
    assert _failures(metrics, "admin") == 2

    unset, unset_metrics = await serve(TokenCheck.build(("k",), None))
    resp = await unset.post("/v1/prewarm", headers={"Authorization": "Bearer adm"})
    assert resp.status == 403 and "WARMLINE_ADMIN_TOKEN" in (await resp.json())["error"]
    assert _failures(unset_metrics, "admin") == 1


async def test_errors_are_json_and_never_quote_the_exception(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await serve(TokenCheck.build((), None))
    resp = await client.get("/v1/boom")
    assert resp.status == 500 and resp.content_type == "application/json"
    assert await resp.json() == {"error": "internal error"}
    assert "GET /v1/boom failed: RuntimeError" in caplog.text
    assert "+14155550123" not in caplog.text
    resp = await client.get("/nowhere")
    assert resp.status == 404 and resp.content_type == "application/json"
    resp = await client.post("/healthz")
    assert resp.status == 405 and resp.content_type == "application/json"
    assert "GET" in resp.headers["Allow"]


def test_api_tokens_setting_is_a_masked_comma_separated_list() -> None:
    settings = load_settings(api_tokens=" key-a, ,key-b ")
    assert settings.api_token_list == ("key-a", "key-b")
    assert "key-a" not in repr(settings)
    assert load_settings().api_token_list == ()
    assert load_settings(api_tokens=" , ").api_token_list == ()  # only separators: no token, reads stay open


def _body(size: int) -> io.BytesIO:
    """A body of *size* bytes with its Content-Length (aiohttp's client warns about bytes over 1 MiB)."""
    return io.BytesIO(b"x" * size)


async def test_bodies_over_the_route_s_limit_are_refused_as_json(serve: Serve) -> None:
    client, _ = await serve(TokenCheck.build((), SecretStr("adm")))
    fits = await client.post("/v1/lookup/batch", data=_body(MAX_BODY_BYTES))
    assert fits.status == 200 and (await fits.json())["read"] == MAX_BODY_BYTES
    declared = await client.post("/v1/lookup/batch", data=_body(MAX_BODY_BYTES + 1))
    assert declared.status == 413 and "error" in await declared.json()

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: cut off while it is read
        for _ in range(3):
            yield b"x" * (MAX_BODY_BYTES // 2)

    chunked = await client.post("/v1/lookup/batch", data=chunks())
    assert chunked.status == 413 and "error" in await chunked.json()
    prewarm = await client.post("/v1/prewarm", data=_body(2 * MAX_BODY_BYTES), headers={"Authorization": "Bearer adm"})
    assert prewarm.status == 200 and (await prewarm.json())["read"] == 2 * MAX_BODY_BYTES  # up to 8 MiB there
    too_long = await client.post(
        "/v1/prewarm", data=_body(MAX_PREWARM_BODY_BYTES + 1), headers={"Authorization": "Bearer adm"}
    )
    assert too_long.status == 413


def test_webhooks_may_send_an_api_token_as_basic_auth_s_password() -> None:
    import base64

    from warmline.http.auth import RouteGroup, TokenCheck, basic_password

    def basic(text: str) -> str:
        return "Basic " + base64.b64encode(text.encode()).decode()

    assert basic_password(basic("twilio:tok-1")) == b"tok-1"
    assert basic_password(basic("no-colon")) is None and basic_password("Basic !!!") is None
    check = TokenCheck.build(["tok-1"], None)
    assert check.refusal(RouteGroup.EVENTS, basic("anyone:tok-1")) is None
    assert check.refusal(RouteGroup.EVENTS, "Bearer tok-1") is None
    refused = check.refusal(RouteGroup.EVENTS, basic("anyone:wrong"))
    assert refused is not None and refused.status == 401
    assert check.refusal(RouteGroup.API, basic("anyone:tok-1")) is not None  # only the webhook routes take Basic
