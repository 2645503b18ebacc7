"""The mapping engine: a platform's JSON event → zero or more PlatformCall, by the rules of a YAML file.

A mapping file::

    platform: connect
    events:
      - name: contact flow (Lambda invocation)
        kind: queued                       # queued | answered | ended
        match:                             # every condition must hold
          - {path: Name, equals: ContactFlowEvent}
        fields:                            # call_id is required; caller or customer_id to warm
          call_id: Details.ContactData.ContactId
          caller: Details.ContactData.CustomerEndpoint.Address
          queue: Details.ContactData.Queue.Name

A path is dot-separated; keys match case-insensitively (AWS's own samples differ in case); a
number indexes a list; ``name[key=value]`` picks the first element of a list whose ``key`` is
``value``; ``name|json`` parses a JSON string found there (Twilio's TaskAttributes). A payload that
is a JSON array (Twilio Event Streams) is a list of events. The first rule that matches an event
wins.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import yaml

from ..errors import MappingError

FIELDS = ("call_id", "caller", "customer_id", "queue", "agent", "at")
_SEGMENT = re.compile(r"^(?P<name>[^\[|]*)(?:\[(?P<key>[^=\]]+)=(?P<value>[^\]]*)\])?(?P<json>\|json)?$")


class CallEventKind(enum.Enum):
    """What happened to the call."""

    QUEUED = "queued"  # warm now, live priority
    ANSWERED = "answered"  # an agent picked up: was the caller warm?
    ENDED = "ended"


@dataclass(frozen=True)
class PlatformCall:
    """One call event of a platform, in warmline's terms."""

    platform: str
    event: str  # the rule's name
    kind: CallEventKind
    call_id: str
    caller: str | None = None
    customer_id: str | None = None
    queue: str | None = None
    agent: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class _Condition:
    path: str
    equals: tuple[str, ...] | None  # any of these (compared as strings, case-sensitive)
    present: bool | None
    matches: re.Pattern[str] | None  # a regular expression the whole value must match

    def holds(self, event: Any) -> bool:
        value = resolve(event, self.path)
        if self.present is not None:
            return (value is not None) == self.present
        if value is None:
            return False
        if self.matches is not None:
            return self.matches.fullmatch(str(value)) is not None
        return self.equals is not None and str(value) in self.equals


@dataclass(frozen=True)
class _Rule:
    platform: str
    name: str
    kind: CallEventKind
    conditions: tuple[_Condition, ...]
    fields: Mapping[str, tuple[str, ...]]  # field → paths tried in turn (the first found wins)

    def apply(self, event: Any) -> PlatformCall | None:
        if not all(c.holds(event) for c in self.conditions):
            return None
        values = {
            name: next((v for v in (resolve(event, p) for p in paths) if v is not None), None)
            for name, paths in self.fields.items()
        }
        call_id = values.get("call_id")
        if call_id is None or str(call_id) == "":
            return None
        return PlatformCall(
            platform=self.platform,
            event=self.name,
            kind=self.kind,
            call_id=str(call_id),
            caller=_text(values.get("caller")),
            customer_id=_text(values.get("customer_id")),
            queue=_text(values.get("queue")),
            agent=_text(values.get("agent")),
            at=_time(values.get("at")),
        )


def resolve(data: Any, path: str) -> Any:
    """The value at *path* in *data* (see the module docstring), or None."""
    current = data
    for raw in path.split("."):
        match = _SEGMENT.match(raw)
        if match is None:
            return None
        name = match["name"]
        if name:
            current = _child(current, name)
        if match["key"] is not None:
            if not isinstance(current, list):
                return None
            current = next(
                (item for item in current if str(_child(item, match["key"])) == match["value"]),
                None,
            )
        if match["json"] and isinstance(current, str):
            try:
                current = orjson.loads(current)
            except orjson.JSONDecodeError:
                return None
        if current is None:
            return None
    return current


def _child(current: Any, name: str) -> Any:
    if isinstance(current, list):
        return current[int(name)] if name.isdigit() and int(name) < len(current) else None
    if not isinstance(current, Mapping):
        return None
    if name in current:
        return current[name]
    lowered = name.lower()
    return next((v for k, v in current.items() if isinstance(k, str) and k.lower() == lowered), None)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _time(value: Any) -> datetime | None:
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value):
        value = float(value)  # Twilio's Timestamp: epoch seconds as a form field
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value  # epoch milliseconds or seconds
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


class Mappings:
    """Every platform's rules; ``recognize`` turns a payload into calls."""

    def __init__(self, rules: Iterable[_Rule]) -> None:
        self._rules = tuple(rules)
        self.platforms = tuple(dict.fromkeys(rule.platform for rule in self._rules))

    def recognize(self, payload: Any, platform: str | None = None) -> list[PlatformCall]:
        """The calls in *payload* (an event, or a list of events), using *platform*'s rules or every platform's."""
        events = payload if isinstance(payload, list) else [payload]
        found = []
        for event in events:
            for rule in self._rules:
                if platform is not None and rule.platform != platform:
                    continue
                call = rule.apply(event)
                if call is not None:
                    found.append(call)
                    break
        return found


def _rules_of(document: Any, source: str) -> list[_Rule]:
    if not isinstance(document, Mapping) or not isinstance(document.get("platform"), str):
        raise MappingError(f"{source}: a mapping needs 'platform: NAME' and 'events: [...]'")
    platform = document["platform"]
    rules = []
    for i, spec in enumerate(document.get("events") or ()):
        where = f"{source}: events[{i}]"
        if not isinstance(spec, Mapping):
            raise MappingError(f"{where} is not a mapping")
        try:
            kind = CallEventKind(spec.get("kind"))
        except ValueError:
            raise MappingError(f"{where}: kind must be queued, answered or ended") from None
        fields = spec.get("fields") or {}
        unknown = set(fields) - set(FIELDS)
        if unknown or "call_id" not in fields:
            raise MappingError(f"{where}: fields must name call_id and may name {', '.join(FIELDS[1:])}")
        conditions = []
        for condition in spec.get("match") or ():
            if not isinstance(condition, Mapping) or "path" not in condition:
                raise MappingError(f"{where}: each match needs a path and equals, matches or present")
            equals, pattern = condition.get("equals"), condition.get("matches")
            try:
                regex = re.compile(str(pattern)) if pattern is not None else None
            except re.error as e:
                raise MappingError(f"{where}: matches {pattern!r} is not a regular expression ({e})") from None
            conditions.append(
                _Condition(
                    str(condition["path"]),
                    tuple(str(e) for e in (equals if isinstance(equals, list) else [equals]))
                    if equals is not None
                    else None,
                    condition.get("present"),
                    regex,
                )
            )
        paths = {name: tuple(p if isinstance(p, list) else [p]) for name, p in fields.items()}
        rules.append(_Rule(platform, str(spec.get("name") or f"event {i}"), kind, tuple(conditions), paths))
    return rules


def load_mappings(extra: Iterable[Path] = ()) -> Mappings:
    """The built-in platforms (Amazon Connect, Genesys Cloud, Twilio), then the files in *extra*."""
    rules: list[_Rule] = []
    for entry in sorted(resources.files(__package__).joinpath("mappings").iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            rules += _rules_of(yaml.safe_load(entry.read_text()), f"built-in {entry.name}")
    for path in extra:
        try:
            document = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as e:
            raise MappingError(f"WARMLINE_EVENT_MAPPINGS: {path}: {e}") from None
        rules += _rules_of(document, str(path))
    return Mappings(rules)
