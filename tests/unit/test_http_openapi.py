"""/openapi.json against the views: the same routes and methods, valid schemas, security where the middleware guards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from schemathesis.core.result import Ok

from warmline.bootstrap import bootstrap
from warmline.http.auth import RouteGroup, route_group
from warmline.http.openapi import document
from warmline.settings import Settings

#: Faust's own blueprints (its default web settings serve them); not part of our contract, so not documented,
#: and guarded by the API token like lookups (asserted below): /table/l1/{key} would serve cached records.
FAUST_BUILTIN_PREFIXES = ("/router", "/table")
FAUST_INDEX = "/"  # Faust's production index: {"status": "OK"}


@pytest.fixture(name="registered", scope="module")
def _registered(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    data = tmp_path_factory.mktemp("data")
    worker = bootstrap(Settings(data_dir=data, demo_db=Path(data / "none.sqlite3"), redis_url=""))
    worker.app.web.init_server()  # applies Faust's blueprints, as the worker does at start-up
    # HEAD: Faust adds it to every view (GET semantics, or 405); it is implied by HTTP, not documented.
    return {
        (route.resource.canonical, route.method.lower())
        for route in worker.app.web.web_app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


def _documented() -> set[tuple[str, str]]:
    return {(path, method) for path, item in document()["paths"].items() for method in item}


def _ours(routes: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, method in routes
        if path != FAUST_INDEX and not any(path.startswith(p + "/") for p in FAUST_BUILTIN_PREFIXES)
    }


def test_every_registered_route_is_documented_and_every_documented_one_registered(
    registered: set[tuple[str, str]],
) -> None:
    assert _ours(registered) == _documented()


def test_faust_builtin_routes_need_the_api_token(registered: set[tuple[str, str]]) -> None:
    builtin = registered - _ours(registered) - {(FAUST_INDEX, "get")}
    assert builtin, "Faust's blueprints are served; this test guards them"
    assert {route_group(path) for path, _ in builtin} == {RouteGroup.API}


def test_documented_security_matches_the_middleware() -> None:
    expected: dict[RouteGroup, list[dict[str, list[str]]]] = {
        RouteGroup.API: [{"apiToken": []}],
        RouteGroup.CHAT: [{"apiToken": []}],
    }
    expected[RouteGroup.ADMIN] = [{"adminToken": []}]
    expected[RouteGroup.EVENTS] = [{"apiToken": []}, {"apiTokenBasic": []}]  # webhooks may only do Basic
    for path, item in document()["paths"].items():
        group = route_group(path.replace("{key}", "phone:+14155550123").replace("{platform}", "twilio"))
        for method, operation in item.items():
            assert operation.get("security") == (expected[group] if group else None), (path, method)
            if group is not None:
                assert "401" in operation["responses"], (path, method)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_schemas_are_valid_json_schema_and_every_ref_resolves() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    for name, schema in schemas.items():
        assert jsonschema_rs.meta.is_valid({"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}), name
    refs = set(_refs(doc))
    assert refs, "the document refers to its components"
    for ref in refs:
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref


def test_schemathesis_reads_every_operation() -> None:
    schema = schemathesis.openapi.from_dict(document())
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert {(op.path, op.method.lower()) for op in operations} == _documented()


def test_the_schema_tells_a_good_reply_from_a_bad_one() -> None:
    doc = document()
    validator = jsonschema_rs.Draft202012Validator({"$ref": "#/components/schemas/LookupReply", **doc})
    good = {"request_id": "r", "status": "ok", "source": "l1", "customer": {"customer_id": "C-1"}, "matches": 1}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "status": "fine"})
    assert not validator.is_valid({**good, "customer": {"customer_id": "C-1", "card": "4111"}})
