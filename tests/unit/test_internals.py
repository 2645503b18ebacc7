"""The private Faust/aiokafka names warmline relies on are all there, and one taken away stops the worker."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from faust.transport import consumer as faust_consumer

import warmline
from warmline.errors import FaustInternalsChanged
from warmline.stream.internals import INTERNALS, Internal, missing, require


def test_the_installed_faust_and_aiokafka_have_every_internal_warmline_uses() -> None:
    assert [internal.label for internal in missing()] == []


def test_a_method_an_upgrade_removed_stops_the_worker_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(faust_consumer.Consumer, "_new_offset")
    with pytest.raises(FaustInternalsChanged, match=r"Consumer\._new_offset \(used by warmline/stream/transport\.py\)"):
        require()


class _Renamed:
    def __init__(self) -> None:
        self._acked_offsets: dict[int, list[int]] = {}  # what a refactor upstream might call it
        self._gap_count = 0


def test_an_attribute_set_on_self_is_found_in_the_class_s_code_or_reported() -> None:
    assert Internal(_Renamed, "_acked_offsets", "-", "-", on_self=True).present()
    assert not Internal(_Renamed, "_acked", "-", "-", on_self=True).present()  # a longer name is not the same
    assert not Internal(_Renamed, "_gap", "-", "-", on_self=True).present()


LIBRARIES = ("faust", "aiokafka", "mode")


def _warmline_modules() -> list[ModuleType]:
    return [
        importlib.import_module(m.name)
        for m in pkgutil.walk_packages(warmline.__path__, "warmline.")
        if not m.name.endswith("__main__")
    ]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _library_has(owner: type, name: str) -> bool:
    return Internal(owner, name, "-", "-").present() or Internal(owner, name, "-", "-", on_self=True).present()


def test_every_private_name_a_subclass_overrides_or_reads_of_its_library_base_is_listed() -> None:
    """A warmline class built on a Faust/aiokafka/mode class: each private name it shares with the base is listed."""
    unlisted = []
    for module in _warmline_modules():
        for cls in [c for c in vars(module).values() if isinstance(c, type) and c.__module__ == module.__name__]:
            bases = [c for c in cls.__mro__[1:] if c.__module__.split(".")[0] in LIBRARIES]
            if not bases:
                continue
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
            names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
            names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and ast.unparse(n.value) == "self"}
            for name in sorted(filter(_private, names)):
                owners = [base for base in bases if _library_has(base, name)]
                listed = any(i.name == name and i.owner in cls.__mro__ for i in INTERNALS)
                if owners and not listed:
                    unlisted.append(f"{cls.__qualname__}.{name} (from {owners[0].__module__}.{owners[0].__qualname__})")
    assert unlisted == [], f"add them to warmline/stream/internals.py INTERNALS: {unlisted}"


def _foreign_private_names(tree: ast.AST) -> set[str]:
    """Private names read from anything but self/cls/super(): ``x._name`` and ``getattr(x, "_name")``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            if ast.unparse(node.value) not in ("self", "cls", "super()"):
                found.add(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) >= 2:
            name = node.args[1].value if isinstance(node.args[1], ast.Constant) else None
            if node.func.id in ("getattr", "setattr", "hasattr") and isinstance(name, str) and _private(name):
                found.add(name)
    return found


def test_every_private_name_warmline_reaches_into_another_object_for_is_listed() -> None:
    """warmline reads no private name of another object but the listed Faust/aiokafka internals."""
    listed = {internal.name for internal in INTERNALS}
    root = Path(warmline.__file__).parent
    reached = {
        f"{path.relative_to(root)}: {name}"
        for path in root.rglob("*.py")
        for name in _foreign_private_names(ast.parse(path.read_text()))
        if name not in listed
    }
    assert reached == set(), "add them to warmline/stream/internals.py INTERNALS (or use a public name)"


def test_the_scans_see_what_they_look_for() -> None:
    tree = ast.parse("consumer._fetch_max_wait_ms = 1\ngetattr(app, '_consumer')\nself._mine = 2\nsuper()._getmany()")
    assert _foreign_private_names(tree) == {"_fetch_max_wait_ms", "_consumer"}
    assert _library_has(faust_consumer.Consumer, "_acked") and not _library_has(faust_consumer.Consumer, "_ledger")
