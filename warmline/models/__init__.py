"""Wire and domain records; nothing here imports the rest of warmline or any framework."""

from .base import InvalidMessage, WireModel, parse, parse_object
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
    "InvalidMessage",
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
