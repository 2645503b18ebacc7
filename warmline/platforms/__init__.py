"""Contact-center platforms' own call events (Amazon Connect, Genesys Cloud, Twilio, yours) as warmline's.

A platform is a YAML mapping (``mappings/*.yaml`` here, or your own through
WARMLINE_EVENT_MAPPINGS): how to recognise each of its events and where the caller's number, the
call id, the queue, the agent and the time are. No code per platform: docs/platforms.md.
"""

from .mapping import CallEventKind, Mappings, PlatformCall, load_mappings

__all__ = ["CallEventKind", "Mappings", "PlatformCall", "load_mappings"]
