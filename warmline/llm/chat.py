"""The /chat runnable: look the caller up, then answer the agent's question (a brief by default)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import BaseModel, ConfigDict, Field

from ..errors import ChatLookupFailed, InvalidMessage
from ..lookups import LookupService
from ..models import Customer, LookupStatus
from .brief_text import BRIEF_QUESTION, message_text, model_messages, template_brief
from .briefs import BriefService
from .tracing import TraceParent, Tracer


class LookupSpec(BaseModel):
    """Whose record the question is about."""

    model_config = ConfigDict(extra="forbid")
    by: Literal["phone", "email", "customer_id"]
    value: str = Field(min_length=1, max_length=320)


class ChatInput(BaseModel):
    """``{"question": "...", "lookup": {"by": "phone", "value": "..."}}``."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(default=BRIEF_QUESTION, min_length=1, max_length=4000)
    lookup: LookupSpec


class ChatOutput(BaseModel):
    """The answer with the record it came from."""

    answer: str
    customer: dict[str, Any] | None
    source: Literal["l1", "l2", "upstream"] | None
    stale: bool
    age_s: float | None
    brief: bool


@dataclass(slots=True)
class BriefReceipt:
    """How a "brief me" answer was served, for the HTTP view's ``X-Brief`` header (outside the output schema)."""

    ready: bool | None = None
    """True: the brief was in the cache at answer; False: made (or waited for) then; None: no brief."""


def is_brief_question(question: str) -> bool:
    """Is *question* the default "brief me"?"""
    return question.strip().rstrip(".!?").lower() == BRIEF_QUESTION


class CallerChat(Runnable[dict[str, Any], dict[str, Any]]):
    """An async runnable over a LookupService; with no model, every answer is the template brief."""

    def __init__(
        self,
        lookups: LookupService,
        *,
        model: Any = None,
        model_name: str | None = None,
        briefs: BriefService | None = None,
        tracer: Tracer | None = None,
        clock: Callable[[], float] = time.time,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._lookups = lookups
        self._loop = loop  # where invoke() runs the answer (None: a loop of its own)
        self._model = model
        self._model_name = model_name
        self._briefs = briefs
        self._tracer = tracer or Tracer()
        self._clock = clock

    def invoke(self, input: dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        """ainvoke for synchronous callers (a script, a thread of a sync framework).

        With *loop* (the event loop the lookups live on, e.g. the worker's), the answer is made
        there and this thread waits for it; without, in an event loop of its own. Called on a
        running event loop it would block that loop: a RuntimeError says to await ainvoke.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # no loop in this thread: waiting here blocks nothing else
        else:
            raise RuntimeError("CallerChat.invoke would block this event loop: await ainvoke instead")
        answer = self.ainvoke(input, config, **kwargs)
        if self._loop is not None:
            return asyncio.run_coroutine_threadsafe(answer, self._loop).result()
        return asyncio.run(answer)

    async def ainvoke(
        self, input: dict[str, Any] | ChatInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The whole answer (the chunks of astream, merged)."""
        merged: dict[str, Any] = {}
        async for chunk in self.astream(input, config, **kwargs):
            for k, v in chunk.items():
                merged[k] = merged.get(k, "") + v if k == "answer" else v
        return merged

    async def astream(
        self, input: dict[str, Any] | ChatInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """First the record and its provenance (with an empty answer), then the answer's text in pieces."""
        data = input if isinstance(input, ChatInput) else ChatInput.model_validate(input)
        parent: TraceParent | None = kwargs.get("parent")
        receipt: BriefReceipt = kwargs.get("receipt") or BriefReceipt()
        inputs = {"question": data.question, "lookup": data.lookup.model_dump()}
        with self._tracer.span("chat", "chain", inputs, parent) as span:
            answer = await self._lookups.lookup(data.lookup.by, data.lookup.value, parent=TraceParent("chat"))
            if answer.status is LookupStatus.INVALID:
                raise InvalidMessage(answer.error or "invalid lookup")
            if answer.status not in (LookupStatus.OK, LookupStatus.NOT_FOUND):
                raise ChatLookupFailed(answer)
            customer = answer.customer
            brief = self._model is None or is_brief_question(data.question)
            head = {
                "customer": customer.model_dump(mode="json") if customer else None,
                "source": answer.source.value if answer.source else None,
                "stale": answer.stale,
                "age_s": answer.age_s,
                "brief": brief and customer is not None,
                "answer": "",
            }
            yield head
            text = ""
            async for piece in self._answer(data.question, customer, brief, receipt):
                text += piece
                yield {"answer": piece}
            if span is not None:
                span.outputs = {**head, "answer": text}

    async def _answer(
        self, question: str, customer: Customer | None, brief: bool, receipt: BriefReceipt
    ) -> AsyncIterator[str]:
        if customer is None:
            yield "No customer record matches this caller."
        elif brief and self._briefs is not None:
            made, receipt.ready = await self._briefs.serve(customer)
            yield made.text
        elif brief:
            yield template_brief(customer, self._clock())
        else:
            async for piece in self._ask(customer, question):
                yield piece

    async def _ask(self, customer: Customer, question: str) -> AsyncIterator[str]:
        from langsmith.run_helpers import tracing_context

        messages = model_messages(customer, question)
        inputs = {"messages": [{"role": r, "content": c} for r, c in messages]}
        with self._tracer.span("model", "llm", inputs) as span:
            if span is not None:
                span.metadata["model"] = self._model_name
            text = ""
            # LangChain would trace the call itself through the unmasked default client: our span records it.
            with tracing_context(enabled=False):
                async for chunk in self._model.astream(messages):
                    piece = message_text(chunk.content)
                    if piece:
                        text += piece
                        yield piece
            if span is not None:
                span.outputs = {"text": text}
