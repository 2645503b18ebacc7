"""GraphQL documents for Tilores, built from the TILORES_RECORD_FIELDS allow-list; inputs go in variables."""

from __future__ import annotations

import re

from ...errors import FieldListError

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


def field_names(spec: str) -> tuple[str, ...]:
    """Parse the comma-separated allow-list; every name must be a plain GraphQL name (no injection)."""
    names = tuple(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    bad = [n for n in names if not _NAME.match(n)]
    if bad:
        raise FieldListError(f"TILORES_RECORD_FIELDS has names GraphQL does not allow: {bad}")
    if "id" not in names:
        names = ("id", *names)
    return names


def check_name(name: str, setting: str) -> str:
    """A search-parameter name from settings, verified to be a GraphQL name."""
    if not _NAME.match(name):
        raise FieldListError(f"{setting}={name!r} is not a GraphQL name")
    return name


def search_query(fields: tuple[str, ...]) -> str:
    """``search(input: {parameters: $params})`` requesting only *fields* of each record."""
    return (
        "query WarmlineSearch($params: SearchParams!) {\n"
        "  search(input: {parameters: $params}) { entities { id hits records { " + " ".join(fields) + " } } }\n"
        "}"
    )


def entity_query(fields: tuple[str, ...]) -> str:
    """``entity(input: {id: $id})`` requesting only *fields* of each record."""
    return (
        "query WarmlineEntity($id: ID!) {\n"
        "  entity(input: {id: $id}) { entity { id hits records { " + " ".join(fields) + " } } }\n"
        "}"
    )


INTROSPECT_NAMES = """
query WarmlineIntrospect {
  params: __type(name: "SearchParams") { inputFields { name } }
  record: __type(name: "Record") { fields { name } }
}
"""
