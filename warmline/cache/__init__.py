"""The two-tier cache: L1 (Faust table), L2 (Redis) and the TieredCache read path."""

from .l1 import L1, TableL1
from .l2 import L2, RedisL2
from .policy import CachePolicy, Freshness
from .stats import CacheStats
from .tiered import CacheResult, TieredCache

__all__ = [
    "L1",
    "L2",
    "CachePolicy",
    "CacheResult",
    "CacheStats",
    "Freshness",
    "RedisL2",
    "TableL1",
    "TieredCache",
]
