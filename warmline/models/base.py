"""WireModel base and parse(bytes) → model; what cannot be parsed raises errors.InvalidMessage."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import InvalidMessage

#: Messages larger than this are refused before any JSON parsing (a DLQ reason, not a crash).
MAX_MESSAGE_BYTES = 64 * 1024


class WireModel(BaseModel):
    """Strict, frozen, closed pydantic model for everything that crosses the wire."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    def to_json(self) -> bytes:
        """Serialize to compact JSON bytes."""
        return self.model_dump_json().encode()


M = TypeVar("M", bound=BaseModel)


def _summarize(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:3]:
        where = ".".join(str(p) for p in item["loc"]) or "message"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - 3
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def parse(model: type[M], data: bytes | str | None) -> M:
    """Parse JSON *data* into *model*; any defect raises InvalidMessage, never anything else."""
    if data is None:
        raise InvalidMessage("empty message")
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(f"message of {len(raw)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        raise InvalidMessage(_summarize(e)) from None
    except (ValueError, TypeError) as e:  # defensive: pydantic wraps nearly everything
        raise InvalidMessage(f"unparseable: {e}") from None


def parse_object(model: type[M], obj: Any) -> M:
    """Validate an already-decoded JSON object (HTTP bodies) into *model*."""
    try:
        return model.model_validate(obj, strict=False)
    except ValidationError as e:
        raise InvalidMessage(_summarize(e)) from None
