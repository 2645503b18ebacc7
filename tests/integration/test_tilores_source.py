"""TiloresSource against a local server that speaks Tilores (OAuth2 token endpoint + GraphQL)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from pydantic import SecretStr

from harness.tilores_server import CARD, TiloresServer
from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.errors import SourceError, SourceTimeout, SourceUnavailable, TiloresConfigError
from warmline.models import LookupKey, normalize
from warmline.resilience import CircuitBreaker
from warmline.sources.base import Priority, SourceResult
from warmline.sources.gate import SourceGate
from warmline.sources.tilores import MappingRules, TiloresConfig, TiloresSource, TokenProvider
from warmline.sources.tilores.queries import field_names

from ..fakes import FakeClock
from .conftest import Cluster

FIELDS = "id,source,first_name,last_name,phone,email,customer_no,tier"
ADA = normalize("phone", "(415) 555-0123")


@pytest.fixture(name="server")
async def _server() -> AsyncIterator[TiloresServer]:
    server = await TiloresServer().start()
    yield server
    await server.stop()


@pytest.fixture(name="session")
async def _session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
        yield session


SourceFactory = Callable[..., tuple[TiloresSource, TokenProvider]]


@pytest.fixture(name="make")
def _make(server: TiloresServer, session: aiohttp.ClientSession) -> SourceFactory:
    def make(
        fields: str = FIELDS,
        customer_id_field: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        **cfg: Any,  # TiloresConfig's own keyword arguments
    ) -> tuple[TiloresSource, TokenProvider]:
        tokens = TokenProvider(lambda: session, server.token_url, "warmline", SecretStr("s3cret"), "read", clock=clock)
        rules = MappingRules(field_names(fields), customer_id_field, "US")
        config = TiloresConfig(server.api_url, rules, param_customer_id=customer_id_field, **cfg)
        return TiloresSource(lambda: session, tokens, config), tokens

    return make


async def test_multi_record_entity_maps_to_one_customer(make: SourceFactory, server: TiloresServer) -> None:
    source, _ = make(customer_id_field="customer_no")
    result = await source.lookup(ADA)
    c = result.customer
    assert c is not None and result.matches == 1
    assert c.customer_id == "C-9001" and c.entity_id == "ent-ada"
    assert c.phones == ("+14155550123", "+14155550199")  # distinct across records, E.164
    assert c.emails == ("ada@example.com", "ada.king@example.org")  # distinct, lower case
    assert c.name == "Ada Lovelace" and c.tier == "vip"
    assert c.attributes["sources"] == ["crm", "web", "callcenter"]
    assert server.state.variables[-1] == {"params": {"phone": "4155550123"}}  # digits format by default


async def test_several_entities_best_match_and_count(make: SourceFactory) -> None:
    source, _ = make()
    result = await source.lookup(normalize("phone", "312-555-0100"))
    assert result.matches == 2
    assert result.customer is not None and result.customer.entity_id == "ent-home-1"  # more matching records


async def test_not_found_email_e164_and_entity_lookups(make: SourceFactory, server: TiloresServer) -> None:
    source, _ = make(phone_format="e164")
    assert (await source.lookup(normalize("phone", "+12025550199"))).customer is None
    assert server.state.variables[-1] == {"params": {"phone": "+12025550199"}}
    bob = await source.lookup(normalize("email", "BOB@example.com"))
    assert bob.customer is not None and bob.customer.customer_id == "ent-bob"  # no customer-id field: entity id
    by_id = await source.lookup(normalize("customer_id", "ent-bob"))
    assert by_id.customer == bob.customer
    assert "entity(input: {id: $id})" in server.state.queries[-1]
    assert (await source.lookup(normalize("customer_id", "ent-nobody"))).customer is None


async def test_allow_list_keeps_card_numbers_out(make: SourceFactory, server: TiloresServer) -> None:
    source, _ = make()
    result = await source.lookup(ADA)
    assert result.customer is not None
    assert CARD not in result.customer.model_dump_json()
    assert "card_number" not in server.state.queries[-1]
    assert "4155550123" not in server.state.queries[-1]  # inputs travel as variables, never in the query text
    # Even if an instance returned an unrequested field, mapping drops what is not allow-listed.
    from warmline.sources.tilores.mapping import to_customer

    leaky = {"id": "e", "records": [{"id": "r", "phone": "4155550123", "card_number": CARD}]}
    assert CARD not in to_customer(leaky, MappingRules(field_names("id,phone"))).model_dump_json()


async def test_token_is_reused_and_connections_pooled(make: SourceFactory, server: TiloresServer) -> None:
    source, tokens = make()
    keys = [normalize("customer_id", f"ent-{i}") for i in range(200)]
    await asyncio.gather(*(source.lookup(k) for k in keys))
    assert server.state.tokens_issued == 1 and tokens.fetches == 1
    await asyncio.gather(*(source.lookup(k) for k in keys))
    peers = len(server.state.peers)
    assert peers <= 200
    await asyncio.gather(*(source.lookup(k) for k in keys))
    assert len(server.state.peers) == peers  # a third round of 200 reused the pool: no new connection


async def test_token_refreshes_before_expiry(make: SourceFactory, server: TiloresServer) -> None:
    clock = FakeClock(0)
    server.state.expires_in = 90
    source, _ = make(clock=clock)
    await source.lookup(ADA)
    clock.advance(50)
    await source.lookup(ADA)
    assert server.state.tokens_issued == 1
    clock.advance(15)  # 65 s: inside the 30 s safety margin of a 90 s token
    await source.lookup(ADA)
    assert server.state.tokens_issued == 2


async def test_a_401_refreshes_the_token_once_and_retries(make: SourceFactory, server: TiloresServer) -> None:
    source, _ = make()
    await source.lookup(ADA)
    server.state.valid_tokens.clear()  # revoked early
    assert (await source.lookup(ADA)).customer is not None
    assert server.state.tokens_issued == 2


async def test_5xx_and_429_are_retried_4xx_is_not(make: SourceFactory, server: TiloresServer) -> None:
    source, _ = make(attempts=3)
    server.state.fail_next = [(500, {}), (503, {})]
    assert (await source.lookup(ADA)).customer is not None
    server.state.fail_next = [(429, {"Retry-After": "0.3"})]
    started = time.perf_counter()
    assert (await source.lookup(ADA)).customer is not None
    assert time.perf_counter() - started >= 0.3  # Retry-After honoured
    server.state.fail_next = [(400, {}), (400, {})]
    with pytest.raises(SourceError) as err:
        await source.lookup(ADA)
    assert err.value.kind == "http_4xx" and len(server.state.fail_next) == 1  # tried once
    server.state.fail_next = [(502, {})] * 3
    with pytest.raises(SourceUnavailable):
        await source.lookup(ADA)


async def test_graphql_errors_fail_and_are_never_cached(make: SourceFactory, server: TiloresServer) -> None:
    source, _ = make()

    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        return await source.lookup(key)

    cache = TieredCache(TableL1({}, 10), None, fetch, CachePolicy())
    server.state.graphql_errors_next = 1
    with pytest.raises(SourceError, match="resolver exploded") as err:
        await cache.get(ADA)
    assert err.value.kind == "graphql_errors"
    assert (await cache.get(ADA)).entry.found  # asked again, not answered from a cached failure


async def test_timeout(make: SourceFactory, server: TiloresServer) -> None:
    source, _ = make(timeout_s=0.1, attempts=1)
    server.state.delay_s = 1.0
    with pytest.raises(SourceTimeout):
        await source.lookup(ADA)


async def test_breaker_opens_on_a_dead_tilores_and_closes_when_it_is_back(
    make: SourceFactory, server: TiloresServer
) -> None:
    source, _ = make(attempts=1)
    clock = FakeClock(0)
    gate = SourceGate(
        source,
        concurrency=4,
        timeout_s=2,
        breaker=CircuitBreaker("tilores", failure_threshold=2, reset_after_s=5, clock=clock),
    )
    await gate.lookup(ADA)  # token fetched while healthy
    server.state.fail_next = [(503, {})] * 2
    for _ in range(2):
        with pytest.raises(SourceUnavailable):
            await gate.lookup(ADA)
    served = len(server.state.queries)
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await gate.lookup(ADA)
    assert len(server.state.queries) == served  # refused without calling Tilores
    clock.advance(5)
    assert (await gate.lookup(ADA)).customer is not None  # the probe succeeds: closed again
    assert gate.failures == {"http_5xx": 2, "breaker_open": 1}


async def test_ping_validates_names_by_introspection(make: SourceFactory) -> None:
    source, _ = make()
    await source.ping()
    bad, _ = make(param_phone="telephone")
    with pytest.raises(TiloresConfigError, match="TILORES_PARAM_PHONE='telephone'"):
        await bad.ping()
    missing, _ = make(fields="id,phone,favourite_colour")
    with pytest.raises(TiloresConfigError, match="favourite_colour"):
        await missing.ping()


def test_field_names_refuse_injection() -> None:
    from warmline.errors import FieldListError

    with pytest.raises(FieldListError):
        field_names("id,phone } } mutation { submit")
    assert field_names("phone, email") == ("id", "phone", "email")


async def test_bad_credentials_are_a_clear_error(server: TiloresServer, session: aiohttp.ClientSession) -> None:
    tokens = TokenProvider(lambda: session, server.token_url, "warmline", SecretStr("wrong"))
    with pytest.raises(SourceError, match="refused the client credentials"):
        await tokens.token()
    assert orjson.dumps(str(tokens.__dict__)).find(b"wrong") == -1  # the secret is never in the object's repr


async def test_end_to_end_through_kafka_with_the_tilores_source(cluster: Cluster, server: TiloresServer) -> None:
    # In a thread: this event loop must keep serving the Tilores fake the worker's start-up check asks.
    await asyncio.to_thread(
        cluster.worker,
        WARMLINE_SOURCE="tilores",
        TILORES_API_URL=server.api_url,
        TILORES_TOKEN_URL=server.token_url,
        TILORES_CLIENT_ID="warmline",
        TILORES_CLIENT_SECRET="s3cret",
        TILORES_RECORD_FIELDS=FIELDS,
        TILORES_PARAM_CUSTOMER_ID="customer_no",
    )
    before = server.state.tokens_issued
    assert before == 1  # the start-up check (introspection) took its own
    async with cluster.client() as client:
        first = await client.lookup("phone", "415.555.0123", timeout_ms=5000)
        second = await client.lookup("customer_id", "C-9002", timeout_ms=5000)
        again = await client.lookup("phone", "+14155550123", timeout_ms=5000)
    assert first.status == "ok" and first.source == "upstream"
    assert first.customer is not None and first.customer.customer_id == "C-9001"
    assert CARD not in first.model_dump_json()
    assert second.customer is not None and second.customer.name == "Bob Byte"
    assert again.source == "l1"
    assert server.state.tokens_issued - before == 1


async def test_worker_refuses_to_start_with_names_the_schema_lacks(server: TiloresServer, tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "WARMLINE_SOURCE": "tilores",
        "WARMLINE_DATA_DIR": str(tmp_path),
        "TILORES_API_URL": server.api_url,
        "TILORES_TOKEN_URL": server.token_url,
        "TILORES_CLIENT_ID": "warmline",
        "TILORES_CLIENT_SECRET": "s3cret",
        "TILORES_PARAM_EMAIL": "mail",
    }
    command = [sys.executable, "-m", "warmline", "worker"]
    # In a thread, so that this event loop keeps serving the Tilores fake the worker asks.
    proc = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "TILORES_PARAM_EMAIL='mail'" in proc.stderr and "Traceback" not in proc.stderr
