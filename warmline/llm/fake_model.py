"""The demo stand-in chat model: ``WARMLINE_CHAT_MODEL=fake:2s`` answers after 2 s (tests, benchmarks, demos).

Settings refuse it unless ``WARMLINE_SOURCE=demo``: it must never answer about real callers.

It really waits, asynchronously (``asyncio.sleep``), so briefs made with it occupy their slot for
the whole delay and compete with the brief pacing exactly as a remote model's would; it sends
nothing anywhere and answers a short deterministic text derived from what it was asked.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

PROVIDER = "fake"
ANSWER_PREFIX = "fake model answer"


def parse_delay(spec: str) -> float:
    """``2s``, ``1500ms`` or ``0.5`` (seconds) → seconds; ValueError for anything else."""
    text = spec.strip().lower()
    scale = 1.0
    if text.endswith("ms"):
        text, scale = text[:-2], 0.001
    elif text.endswith("s"):
        text = text[:-1]
    seconds = float(text) * scale
    if not 0 <= seconds <= 600:
        raise ValueError(f"delay {spec!r} is not between 0 and 600 s")
    return seconds


class DelayedFakeChatModel(BaseChatModel):
    """Answers every call after *delay_s* seconds (asynchronous waiting for ainvoke/astream)."""

    delay_s: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "warmline-fake"

    def _answer(self, messages: list[BaseMessage]) -> ChatResult:
        asked = "".join(str(m.content) for m in messages).encode()
        digest = hashlib.blake2s(asked, digest_size=4).hexdigest()
        text = f"{ANSWER_PREFIX} {digest} after {self.delay_s:g} s."
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        time.sleep(self.delay_s)  # a synchronous caller (model.invoke) waits on its own thread
        return self._answer(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        await asyncio.sleep(self.delay_s)
        return self._answer(messages)
