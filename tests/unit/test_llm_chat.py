"""The /chat runnable without HTTP: answers, chunks, failures; and WARMLINE_CHAT_MODEL at start-up."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from pydantic import ValidationError

from warmline.errors import ChatLookupFailed, InvalidMessage, SettingsError
from warmline.llm.chat import CallerChat, is_brief_question
from warmline.llm.chat_model import load_chat_model
from warmline.lookups import LookupService

from ..fakes import FakeSource, customer, fake_runtime


def _lookups() -> tuple[LookupService, FakeSource]:
    source = FakeSource({"email:ada@example.com": customer()})
    return fake_runtime(source).lookups, source


ADA = {"by": "email", "value": "Ada@Example.com"}


async def test_stream_chunks_merge_into_the_invoke_output() -> None:
    lookups, _ = _lookups()
    model = GenericFakeChatModel(messages=iter([AIMessage("She is a VIP."), AIMessage("She is a VIP.")]))
    chat = CallerChat(lookups, model=model)
    chunks = [c async for c in chat.astream({"question": "Is she a VIP?", "lookup": ADA})]
    assert chunks[0]["answer"] == "" and chunks[0]["source"] == "upstream" and chunks[0]["brief"] is False
    assert len(chunks) > 2  # the model's answer arrives in pieces
    whole = await chat.ainvoke({"question": "Is she a VIP?", "lookup": ADA})
    assert "".join(c["answer"] for c in chunks) == whole["answer"] == "She is a VIP."
    assert whole["source"] == "l1" and whole["customer"]["customer_id"] == "C-000001"


async def test_brief_me_is_the_brief_even_with_a_model() -> None:
    lookups, _ = _lookups()
    model = GenericFakeChatModel(messages=iter([]))  # would raise if it were asked
    out = await CallerChat(lookups, model=model, clock=lambda: 1.8e9).ainvoke({"question": "Brief me!", "lookup": ADA})
    assert out["brief"] is True and out["answer"].startswith("Ada Lovelace (C-000001): vip tier")
    assert is_brief_question(" brief me. ") and not is_brief_question("brief me on billing")


async def test_failures_are_typed_for_the_views() -> None:
    lookups, source = _lookups()
    chat = CallerChat(lookups)
    with pytest.raises(InvalidMessage):
        await chat.ainvoke({"lookup": {"by": "email", "value": "not-an-email"}})
    with pytest.raises(ValidationError):
        await chat.ainvoke({"lookup": {"by": "fax", "value": "1"}})
    source.down = True
    with pytest.raises(ChatLookupFailed) as failed:
        await chat.ainvoke({"lookup": {"by": "email", "value": "bob@example.com"}})
    assert failed.value.answer.status == "unavailable"
    with pytest.raises(RuntimeError, match="await ainvoke"):  # it would block the loop it runs on
        chat.invoke({"lookup": ADA})


def test_invoke_answers_a_synchronous_caller() -> None:
    lookups, _ = _lookups()
    out = CallerChat(lookups, clock=lambda: 1.8e9).invoke({"question": "Brief me!", "lookup": ADA})
    assert out["brief"] is True and out["customer"]["customer_id"] == "C-000001"


async def test_invoke_from_another_thread_runs_on_the_lookups_loop() -> None:
    lookups, source = _lookups()
    chat = CallerChat(lookups, clock=lambda: 1.8e9, loop=asyncio.get_running_loop())
    out = await asyncio.to_thread(chat.invoke, {"question": "Brief me!", "lookup": ADA})
    assert out["brief"] is True and out["source"] == "upstream"
    again = await chat.ainvoke({"question": "Brief me!", "lookup": ADA})  # the same cache, on this loop
    assert again["source"] == "l1" and len(source.calls) == 1


def test_chat_model_setting_fails_in_one_line_naming_what_is_missing() -> None:
    assert load_chat_model(None) is None and load_chat_model("") is None
    with pytest.raises(SettingsError, match="expected provider:model"):
        load_chat_model("gpt-4o-mini")
    with pytest.raises(SettingsError) as missing:
        load_chat_model("openai:gpt-4o-mini")
    message = str(missing.value)
    assert "\n" not in message and "WARMLINE_CHAT_MODEL=openai:gpt-4o-mini" in message
    if importlib.util.find_spec("langchain") is None:
        assert "`langchain`" in message
    else:
        assert "langchain-openai" in message or "langchain_openai" in message
