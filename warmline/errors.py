"""The warmline exception tree, drawn once.

    WarmlineError
    ├── SourceError                 (sources/base.py)  upstream failed → status "error"
    │   ├── SourceUnavailable       connection refused, 5xx, breaker open → "unavailable"
    │   └── SourceTimeout           no answer in time → "timeout"
    └── L2Unavailable               (cache/l2.py) Redis slow or down; never reaches a client

Wire-level defects are ``models.InvalidMessage`` (a ValueError, so ``models`` stays free of
warmline imports); they map to status "invalid".
"""

from __future__ import annotations

from typing import ClassVar

from .models import LookupStatus


class WarmlineError(Exception):
    """Root of warmline's own errors."""

    status: ClassVar[LookupStatus] = LookupStatus.ERROR
    retriable: ClassVar[bool] = False
