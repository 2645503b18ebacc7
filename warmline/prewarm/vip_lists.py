"""VIP lists: a YAML or JSON file of key lists, each with an optional schedule; reloaded on change.

lists:
  - name: platinum
    keys: ["customer_id:C-000001", "phone:+14155550123"]
    at: ["07:30", "12:00", "17:00"]     # daily, in WARMLINE_VIP_TIMEZONE (UTC by default)
    every: 30m                         # and/or an interval: 90s, 30m, 2h
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

import yaml

from ..errors import InvalidMessage, VipFileError
from ..models import LookupKey, parse_key

logger = logging.getLogger(__name__)

_INTERVAL = re.compile(r"^\s*(\d+)\s*(s|m|h)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class VipList:
    """One named list with its schedule."""

    name: str
    keys: tuple[LookupKey, ...]
    at: tuple[time, ...] = ()
    every_s: float | None = None

    def due(self, last_run: datetime | None, now: datetime) -> bool:
        """Is a scheduled run due at *now*, given the previous run (None: never ran)?"""
        if self.every_s is not None and (last_run is None or (now - last_run).total_seconds() >= self.every_s):
            return True
        for t in self.at:
            slot = datetime.combine(now.date(), t, tzinfo=now.tzinfo)
            if slot > now:
                slot -= timedelta(days=1)  # the latest slot at or before now
            if last_run is None:
                if (now - slot).total_seconds() < 60:
                    return True
            elif last_run < slot:
                return True
        return False


@dataclass
class VipBook:
    """The lists of one file, with the time each last ran."""

    lists: tuple[VipList, ...] = ()
    last_run: dict[str, datetime] = field(default_factory=dict)

    def all_keys(self) -> list[LookupKey]:
        """Every key of every list, each once, in file order."""
        return list(dict.fromkeys(k for vip in self.lists for k in vip.keys))

    def due_lists(self, now: datetime) -> list[VipList]:
        """Lists whose schedule is due at *now*; marks them as run."""
        due = [vip for vip in self.lists if vip.due(self.last_run.get(vip.name), now)]
        for vip in due:
            self.last_run[vip.name] = now
        return due

    def start(self, now: datetime) -> None:
        """Start-up counts as a run of every list (the start-up warm covers them all)."""
        for vip in self.lists:
            self.last_run.setdefault(vip.name, now)


def _interval(text: Any, where: str) -> float:
    match = _INTERVAL.match(str(text))
    if not match:
        raise VipFileError(f"{where}: `every` must look like 90s, 30m or 2h, got {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _times(values: Any, where: str) -> tuple[time, ...]:
    if not isinstance(values, list):
        raise VipFileError(f"{where}: `at` must be a list of HH:MM times")
    try:
        return tuple(time.fromisoformat(str(v)) for v in values)
    except ValueError as e:
        raise VipFileError(f"{where}: {e}") from None


def parse_vip(data: Any, region: str = "US") -> VipBook:
    """Build a VipBook from the decoded file; raise VipFileError naming what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("lists"), list):
        raise VipFileError("the file must hold a mapping with a `lists:` list")
    lists = []
    for n, raw in enumerate(data["lists"]):
        if not isinstance(raw, dict) or not isinstance(raw.get("keys"), list):
            raise VipFileError(f"list #{n + 1}: needs `keys:` (a list of kind:value strings)")
        name = str(raw.get("name") or f"list-{n + 1}")
        try:
            keys = tuple(parse_key(str(k), region) for k in raw["keys"])
        except InvalidMessage as e:
            raise VipFileError(f"list {name!r}: {e.reason}") from None
        every = _interval(raw["every"], f"list {name!r}") if raw.get("every") is not None else None
        lists.append(VipList(name, keys, _times(raw.get("at", []), f"list {name!r}"), every))
    return VipBook(tuple(lists))


def load_vip(path: Path, region: str = "US") -> VipBook:
    """Read a YAML or JSON VIP file (JSON is YAML)."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise VipFileError(f"{path}: {e}") from None
    return parse_vip(data, region)


class VipWatcher:
    """Holds the current VipBook of a file and reloads it when the file changes."""

    def __init__(self, path: Path | None, region: str = "US", tz: tzinfo = UTC) -> None:
        self.path = path
        self.region = region
        self.tz = tz
        self.book = VipBook()
        self._mtime: float | None = None

    def now(self) -> datetime:
        """Wall-clock time in the schedule's zone."""
        return datetime.now(self.tz)

    def refresh(self) -> bool:
        """Reload if the file changed; True when a new book was loaded. A bad file keeps the old book."""
        if self.path is None:
            return False
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return False
        if mtime == self._mtime:
            return False
        self._mtime = mtime
        try:
            book = load_vip(self.path, self.region)
        except VipFileError as e:
            logger.error("VIP file not (re)loaded, keeping the previous lists: %s", e)
            return False
        book.last_run = {name: t for name, t in self.book.last_run.items() if name in {v.name for v in book.lists}}
        self.book = book
        logger.info("VIP file %s: %d lists, %d keys", self.path, len(book.lists), len(book.all_keys()))
        return True
