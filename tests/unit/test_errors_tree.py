"""errors.py holds every warmline exception and draws them all, in the tree they really form; no stubs."""

from __future__ import annotations

import ast
import builtins
import importlib
import pkgutil
import re
from pathlib import Path

import warmline
from warmline import errors
from warmline.errors import WarmlineError
from warmline.models import LookupStatus

PACKAGE = Path(warmline.__file__).parent


def _subclasses(cls: type[WarmlineError]) -> set[type[WarmlineError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def _import_everything() -> None:
    for module in pkgutil.walk_packages(warmline.__path__, "warmline."):
        if not module.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(module.name)


def _drawn_tree() -> dict[str, str]:
    """{class name: its parent's name} as drawn in errors.py's docstring (indentation is depth)."""
    parents: dict[str, str] = {}
    stack: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        if line.strip() == "WarmlineError":
            stack = ["WarmlineError"]
            continue
        drawn = re.match(r"^\s*((?:│   |    )*)[├└]── (\w+)", line)
        if drawn and stack:
            depth = len(drawn.group(1)) // 4 + 1
            del stack[depth:]
            parents[drawn.group(2)] = stack[-1]
            stack.append(drawn.group(2))
    return parents


def test_the_drawn_tree_is_the_real_one_both_ways() -> None:
    _import_everything()
    real = {cls.__name__: cls.__bases__[0].__name__ for cls in _subclasses(WarmlineError)}
    drawn = _drawn_tree()
    assert set(drawn) - set(real) == set(), "drawn in errors.py but not a WarmlineError subclass"
    assert set(real) - set(drawn) == set(), "a WarmlineError subclass missing from the tree in errors.py"
    assert drawn == real, "a class drawn under the wrong parent"


def test_every_error_lives_in_errors_py() -> None:
    _import_everything()
    assert {cls.__module__ for cls in _subclasses(WarmlineError)} == {"warmline.errors"}
    for module in list(pkgutil.walk_packages(warmline.__path__, "warmline.")):
        if module.name.endswith("__main__"):
            continue
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__.startswith("warmline"):
                assert value.__module__ == "warmline.errors", f"{value.__qualname__} is defined in {value.__module__}"


def test_no_class_statement_outside_errors_py_defines_an_exception() -> None:
    """The source-level check: a class nested in a function is invisible to the import walk."""
    names = {cls.__name__ for cls in _subclasses(WarmlineError)} | {"WarmlineError", "Exception", "BaseException"}
    builtin = {n for n in dir(builtins) if n.endswith(("Error", "Exception"))}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                assert not bases & (names | builtin), f"{path.relative_to(PACKAGE)}: class {node.name} is an exception"


def test_errors_py_imports_nothing_of_warmline() -> None:
    """So every layer, models included, may import it without a cycle."""
    tree = ast.parse((PACKAGE / "errors.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("warmline"), ast.unparse(node)
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith("warmline") for a in node.names), ast.unparse(node)


def test_every_status_is_a_lookup_status() -> None:
    _import_everything()
    for cls in {WarmlineError} | _subclasses(WarmlineError):
        assert LookupStatus(cls.status), cls.__name__


def test_nothing_in_warmline_is_a_stub_raising_not_implemented() -> None:
    """An interface is a Protocol; a method warmline ships works (CallerChat.invoke, the demo model's sync call)."""
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                assert ast.unparse(raised) != "NotImplementedError", f"{path.relative_to(PACKAGE)}:{node.lineno}"
