"""`lookup_caller`: an async LangChain tool over a LookupService (in-process) or a worker's HTTP API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, Field, model_validator

from ..lookups import LookupService
from ..models import Answer, LookupReply, LookupStatus
from .tracing import TraceParent

TOOL_NAME = "lookup_caller"
DESCRIPTION = (
    "Look up a caller's customer record. Give exactly one of phone (any format, e.g. +1 415 555 0123), "
    "email or customer_id; optionally max_age_s to refuse older cached data. Answers JSON: status, "
    "customer (id, name, phones, emails, status, tier, language, attributes) or null, source "
    "(l1, l2 or upstream), stale and age_s."
)

#: One lookup → the record as JSON text the model reads.
Lookup = Callable[[str, str, float | None], Awaitable[LookupReply]]


class LookupCallerArgs(BaseModel):
    """The tool's arguments: exactly one key."""

    phone: str | None = Field(default=None, max_length=64, description="The caller's phone number, any format.")
    email: str | None = Field(default=None, max_length=320, description="The caller's e-mail address.")
    customer_id: str | None = Field(default=None, max_length=128, description="A customer id such as C-000123.")
    max_age_s: float | None = Field(default=None, ge=0, description="Refuse cached data older than this (seconds).")

    @model_validator(mode="after")
    def _exactly_one(self) -> LookupCallerArgs:
        given = [k for k in ("phone", "email", "customer_id") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of phone, email or customer_id")
        return self


def tool_answer(reply: LookupReply) -> str:
    """The tool's text for *reply*: the allow-listed record plus where it came from; failures raise ToolException."""
    if reply.status in (LookupStatus.OK, LookupStatus.NOT_FOUND):
        body = {
            "status": reply.status.value,
            "customer": reply.customer.model_dump(mode="json") if reply.customer else None,
            "source": reply.source.value if reply.source else None,
            "stale": reply.stale,
            "age_s": reply.age_s,
        }
        return orjson.dumps(body).decode()
    raise ToolException(f"lookup {reply.status.value}: {reply.error or 'no detail'}")


def _validation_message(error: Any) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        return "invalid arguments: " + "; ".join(str(e.get("msg", e)) for e in errors())
    return f"invalid arguments: {error}"


def _build(lookup: Lookup) -> StructuredTool:
    async def lookup_caller(
        phone: str | None = None,
        email: str | None = None,
        customer_id: str | None = None,
        max_age_s: float | None = None,
    ) -> str:
        by, value = next((k, v) for k, v in (("phone", phone), ("email", email), ("customer_id", customer_id)) if v)
        return tool_answer(await lookup(by, value, max_age_s))

    return StructuredTool.from_function(
        coroutine=lookup_caller,
        name=TOOL_NAME,
        description=DESCRIPTION,
        args_schema=LookupCallerArgs,
        handle_tool_error=True,  # ToolException → its message as the tool's answer
        handle_validation_error=_validation_message,
    )


def in_process_tool(service: LookupService) -> StructuredTool:
    """The tool answering from *service* in this process (traced as via=tool)."""

    async def lookup(by: str, value: str, max_age_s: float | None) -> LookupReply:
        answer: Answer = await service.lookup(by, value, max_age_s=max_age_s, parent=TraceParent("tool"))
        return answer.to_reply()

    return _build(lookup)


def remote_tool(url: str, token: str | None = None, timeout_s: float = 10.0) -> StructuredTool:
    """The tool answering over HTTP from the worker at *url* (``GET /v1/lookup``)."""
    base = url.rstrip("/")

    async def lookup(by: str, value: str, max_age_s: float | None) -> LookupReply:
        params = {by: value} | ({"max_age_s": str(max_age_s)} if max_age_s is not None else {})
        headers = _trace_headers() | ({"Authorization": f"Bearer {token}"} if token else {})
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
                session.get(f"{base}/v1/lookup", params=params, headers=headers) as resp,
            ):
                body = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as e:
            raise ToolException(f"lookup service unreachable at {base}: {e or type(e).__name__}") from None
        try:
            return LookupReply.model_validate_json(body)
        except ValueError:
            raise ToolException(f"lookup service answered HTTP {resp.status} without a lookup reply") from None

    return _build(lookup)


def _trace_headers() -> dict[str, str]:
    """The calling agent's LangSmith run, if it traces, so the worker's run joins its trace."""
    from langsmith.run_helpers import get_current_run_tree

    run = get_current_run_tree()
    return dict(run.to_headers()) if run is not None else {}


def lookup_tool(
    service: LookupService | None = None, *, url: str | None = None, token: str | None = None
) -> StructuredTool:
    """`lookup_caller` from a LookupService in this process, or from a worker at *url* (http://host:6066)."""
    if (service is None) == (url is None):
        raise ValueError("give a LookupService or url=, not both")
    return in_process_tool(service) if service is not None else remote_tool(url or "", token)
