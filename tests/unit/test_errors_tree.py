"""errors.py draws every WarmlineError subclass, each under its module."""

from __future__ import annotations

import importlib
import pkgutil

import warmline
from warmline import errors
from warmline.errors import WarmlineError


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_the_tree_names_every_error_and_where_it_lives() -> None:
    for module in pkgutil.walk_packages(warmline.__path__, "warmline."):
        if not module.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(module.name)
    tree = errors.__doc__ or ""
    for cls in _subclasses(WarmlineError):
        where = cls.__module__.removeprefix("warmline.").replace(".", "/") + ".py"
        line = next((line for line in tree.splitlines() if f"── {cls.__name__} " in line), None)
        assert line is not None, f"{cls.__name__} is missing from the tree in errors.py"
        assert f"({where})" in line, f"{cls.__name__} is drawn without ({where})"
