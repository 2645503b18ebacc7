"""Wire and domain records: no framework, and nothing of warmline but errors.py (which imports nothing)."""

from .base import WireModel, parse, parse_object
from .cache import CacheEntry
from .customer import Customer
from .dlq import DeadLetter
from .events import CallStarted, CustomerChanged
from .keys import KeyKind, LookupKey, normalize, parse_key
from .lookup import Answer, CacheTier, LookupReply, LookupRequest, LookupStatus

__all__ = [
    "Answer",
    "CacheEntry",
    "CacheTier",
    "CallStarted",
    "Customer",
    "CustomerChanged",
    "DeadLetter",
    "KeyKind",
    "LookupKey",
    "LookupReply",
    "LookupRequest",
    "LookupStatus",
    "WireModel",
    "normalize",
    "parse",
    "parse_key",
    "parse_object",
]
