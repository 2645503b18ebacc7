"""/chat on the worker: LangServe's wire format (invoke, batch, stream, schemas) without FastAPI."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import orjson
from aiohttp import web
from faust.web import View
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ChatError, ChatLookupFailed, InvalidMessage
from ..llm.chat import BriefReceipt, CallerChat, ChatInput, ChatOutput
from ..llm.tracing import trace_parent
from .context import WebContext
from .responses import STATUS_CODES, json_response

MAX_BATCH = 100
#: ``X-Brief`` on /chat/invoke: was the caller brief ready in the cache at answer, or made then?
X_BRIEF = {True: "ready", False: "made"}


class InvokeBody(BaseModel):
    """LangServe's ``/invoke`` and ``/stream`` body."""

    model_config = ConfigDict(extra="forbid")
    input: ChatInput
    config: dict[str, Any] = Field(default_factory=dict)
    kwargs: dict[str, Any] = Field(default_factory=dict)


class BatchBody(BaseModel):
    """LangServe's ``/batch`` body."""

    model_config = ConfigDict(extra="forbid")
    inputs: list[ChatInput] = Field(min_length=0, max_length=MAX_BATCH)
    config: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
    kwargs: dict[str, Any] = Field(default_factory=dict)


def _problem(e: ChatError) -> web.Response:
    return json_response({"detail": e.detail}, status=e.code)


B = TypeVar("B", InvokeBody, BatchBody)


async def _parse(request: web.Request, model: type[B], ctx: WebContext) -> B:
    """The body as *model*, with every lookup value checked; raises ChatError(422)."""
    try:
        body = model.model_validate(orjson.loads(await request.read()))
    except orjson.JSONDecodeError as e:
        raise ChatError(422, f"body is not JSON: {e}") from None
    except ValidationError as e:
        raise ChatError(422, e.errors(include_url=False, include_context=False)) from None
    inputs = [body.input] if isinstance(body, InvokeBody) else body.inputs
    for item in inputs:
        try:
            ctx.lookups.key_for(item.lookup.by, item.lookup.value)
        except InvalidMessage as e:
            raise ChatError(422, f"lookup.value: {e.reason}") from None
    return body


async def _run(
    chat: CallerChat, data: ChatInput, request: web.Request, receipt: BriefReceipt | None = None
) -> dict[str, Any]:
    try:
        return await chat.ainvoke(data, parent=trace_parent(request.headers, via="http"), receipt=receipt)
    except InvalidMessage as e:
        raise ChatError(422, e.reason) from None
    except ChatLookupFailed as e:
        raise ChatError(STATUS_CODES[e.answer.status], str(e)) from None
    except Exception as e:  # noqa: BLE001  # the model failed: a bad gateway, never a 500
        raise ChatError(502, f"{type(e).__name__}: {e}") from None


def _metadata() -> dict[str, Any]:
    return {"run_id": str(uuid.uuid4()), "feedback_tokens": []}


def _sse(event: str, data: Any = None) -> bytes:
    payload = b"" if data is None else b"data: " + orjson.dumps(data) + b"\r\n"
    return b"event: " + event.encode() + b"\r\n" + payload + b"\r\n"


def register(app: Any, ctx: WebContext) -> None:
    """Attach the /chat routes."""
    if ctx.chat is None:
        return
    chat: CallerChat = ctx.chat

    @app.page("/chat/invoke")
    class Invoke(View):
        async def post(self, request: web.Request) -> web.Response:
            try:
                body = await _parse(request, InvokeBody, ctx)
                receipt = BriefReceipt()
                output = await _run(chat, body.input, request, receipt)
            except ChatError as e:
                return _problem(e)
            headers = {"X-Brief": X_BRIEF[receipt.ready]} if receipt.ready is not None else None
            return json_response({"output": output, "metadata": _metadata()}, headers=headers)

    @app.page("/chat/batch")
    class Batch(View):
        async def post(self, request: web.Request) -> web.Response:
            try:
                body = await _parse(request, BatchBody, ctx)
                outputs = await asyncio.gather(*(_run(chat, item, request) for item in body.inputs))
            except ChatError as e:
                return _problem(e)
            return json_response({"output": outputs, "metadata": {"run_ids": [_metadata()["run_id"] for _ in outputs]}})

    @app.page("/chat/stream")
    class Stream(View):
        async def post(self, request: web.Request) -> web.StreamResponse:
            try:
                body = await _parse(request, InvokeBody, ctx)
            except ChatError as e:
                return _problem(e)
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
            await resp.prepare(request)
            async for event in _events(chat, body.input, request):
                await resp.write(event)
            await resp.write_eof()
            return resp

    schemas = {
        "input_schema": ChatInput.model_json_schema(),
        "output_schema": ChatOutput.model_json_schema(),
        "config_schema": {"title": "chat_config", "type": "object", "properties": {}},
    }
    for name, schema in schemas.items():
        _schema_view(app, f"/chat/{name}", schema)


async def _events(chat: CallerChat, data: ChatInput, request: web.Request) -> AsyncIterator[bytes]:
    """LangServe's SSE events: metadata, data per chunk, then end, or error with a status code."""
    yield _sse("metadata", {"run_id": _metadata()["run_id"]})
    try:
        async for chunk in chat.astream(data, parent=trace_parent(request.headers, via="http")):
            yield _sse("data", chunk)
    except (InvalidMessage, ChatLookupFailed) as e:
        status = 422 if isinstance(e, InvalidMessage) else STATUS_CODES[e.answer.status]
        yield _sse("error", {"status_code": status, "message": str(e)})
    except Exception as e:  # noqa: BLE001  # a model failure ends the stream with an error event, as LangServe does
        yield _sse("error", {"status_code": 502, "message": f"{type(e).__name__}: {e}"})
    else:
        yield _sse("end")


def _schema_view(app: Any, path: str, schema: dict[str, Any]) -> None:
    @app.page(path)
    class Schema(View):
        async def get(self, request: web.Request) -> web.Response:
            return json_response(schema)
