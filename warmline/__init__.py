"""warmline: pre-warmed caller lookups for call centers (Faust + a two-tier cache)."""

from .client import LookupClient
from .models import CallStarted, Customer, LookupReply, LookupRequest, LookupStatus

__version__ = "0.1.0"

__all__ = ["CallStarted", "Customer", "LookupClient", "LookupReply", "LookupRequest", "LookupStatus", "__version__"]
