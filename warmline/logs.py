"""Logging for the worker: a dictConfig for Faust's ``logging_config``; JSON lines a machine can read.

Nothing is configured on import. With WARMLINE_LOG_FORMAT=json every record is one JSON object
(time, level, logger, message, request_id, trace_id, key); Faust's start-up tables (sets and maps
of topics and partitions it renders as boxes) become one-line summaries.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp.http_exceptions import HttpProcessingError

#: The caller's LangSmith trace id for the current task (set where a ``langsmith-trace`` header is read).
TRACE_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("warmline_trace_id", default=None)

_TABLE_LOGGERS = ("faust", "mode", "aiokafka")


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "trace_id": getattr(record, "trace_id", None) or TRACE_ID.get(),
            "key": getattr(record, "key", None),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def _summary(arg: Any) -> Any:
    if isinstance(arg, Mapping):
        return f"<{len(arg)} entries>"
    if isinstance(arg, set | frozenset | list | tuple) and len(arg) > 3:
        return f"<{len(arg)} items>"
    return arg


class NoTables(logging.Filter):
    """Faust's table-shaped arguments (subscriptions, partition sets) as short summaries."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the arguments of faust, mode and aiokafka records; never drops a record."""
        if record.name.startswith(_TABLE_LOGGERS) and record.args:
            if isinstance(record.args, Mapping):
                record.args = (_summary(record.args),)
            else:
                record.args = tuple(_summary(a) for a in record.args)
        return True


#: What aiohttp's server logs when it answers a request with an error (web_protocol.handle_error).
_AIOHTTP_REFUSAL = "Error handling request from %s"


class MalformedRequests(logging.Filter):
    """aiohttp's "Error handling request" for a request its parser refused (a 4xx) as one INFO line.

    aiohttp logs such a request at ERROR with a traceback whose message quotes the offending bytes:
    a header line, bearer token included (seen: schemathesis in ``make faults``). The client gets
    its 400 either way; the log gets who, the status and the kind of error, never the bytes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a parser refusal; every other record passes unchanged."""
        exc = record.exc_info[1] if record.exc_info else None
        if record.msg != _AIOHTTP_REFUSAL or not isinstance(exc, HttpProcessingError) or not 400 <= exc.code < 500:
            return True  # anything else (a handler's 500 included) keeps its traceback
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg = "refused a malformed HTTP request from %s: %d %s"
        record.args = (remote, exc.code, type(exc).__name__)
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.INFO, "INFO"
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)


def quiet_malformed_requests() -> None:
    """Install MalformedRequests on aiohttp's server logger (once per process)."""
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequests) for f in server.filters):
        server.addFilter(MalformedRequests())


def logging_config(log_format: str, level: str) -> dict[str, Any] | None:
    """The dictConfig for Faust's Worker (None: keep Faust's console format)."""
    if log_format != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"no_tables": {"()": NoTables}},
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["no_tables"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["default"]},
    }


def trace_id_of(header: str | None) -> str | None:
    """The trace id in a ``langsmith-trace`` header (the id of its first dotted-order segment)."""
    if not header:
        return None
    first = header.split(".", 1)[0]
    _, z, run_id = first.partition("Z")
    return run_id if z and len(run_id) == 36 else None
