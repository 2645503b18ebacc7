"""lookup_caller: answers, tool errors the model can read, and a full agent loop with a fake model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from warmline.llm import lookup_tool
from warmline.lookups import LookupService

from ..fakes import FakeSource, customer, fake_runtime


def _service() -> tuple[LookupService, FakeSource]:
    source = FakeSource({"phone:+14155550123": customer(), "customer_id:C-000001": customer()})
    return fake_runtime(source).lookups, source


class ToolCallingFakeModel(GenericFakeChatModel):
    """GenericFakeChatModel lacks bind_tools; an agent only needs it to return the model."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ToolCallingFakeModel:
        return self


async def test_answers_the_record_with_where_it_came_from() -> None:
    service, _ = _service()
    tool = lookup_tool(service)
    first = orjson.loads(await tool.ainvoke({"phone": "(415) 555-0123"}))
    second = orjson.loads(await tool.ainvoke({"phone": "+1 415 555 0123", "max_age_s": 60}))
    assert first["status"] == "ok" and first["source"] == "upstream" and first["stale"] is False
    assert first["customer"]["name"] == "Ada Lovelace"
    assert second["source"] == "l1" and second["age_s"] == 0.0
    missing = orjson.loads(await tool.ainvoke({"customer_id": "C-404"}))
    assert missing == {"status": "not_found", "customer": None, "source": "upstream", "stale": False, "age_s": 0.0}


async def test_bad_input_is_a_message_for_the_model_not_an_exception() -> None:
    service, source = _service()
    tool = lookup_tool(service)
    two_keys = await tool.ainvoke({"phone": "+14155550123", "email": "ada@example.com"})
    assert "exactly one of phone, email or customer_id" in two_keys
    not_a_phone = await tool.ainvoke({"phone": "12"})
    assert not_a_phone.startswith("lookup invalid:")
    negative = await tool.ainvoke({"customer_id": "C-1", "max_age_s": -1})
    assert "invalid arguments" in negative
    source.down = True
    down = await tool.ainvoke({"customer_id": "C-2"})
    assert down.startswith("lookup unavailable:")
    call = {"name": "lookup_caller", "args": {"phone": "12"}, "id": "c1", "type": "tool_call"}
    message = await tool.ainvoke(call)
    assert isinstance(message, ToolMessage) and message.status == "error" and "invalid" in str(message.content)


def _script() -> Iterator[AIMessage]:
    yield AIMessage(content="", tool_calls=[{"name": "lookup_caller", "args": {"phone": "415-555-0123"}, "id": "t1"}])
    yield AIMessage(content="The caller is Ada Lovelace, a VIP.")


async def run_agent(model: Any, tools: list[Any], question: str) -> list[BaseMessage]:
    """The smallest agent loop: call the model, run the tools it asks for, until it answers."""
    bound = model.bind_tools(tools)
    by_name = {t.name: t for t in tools}
    messages: list[BaseMessage] = [HumanMessage(question)]
    while True:
        reply = await bound.ainvoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return messages
        for call in reply.tool_calls:
            messages.append(await by_name[call["name"]].ainvoke(call))


async def test_in_an_agent_loop_with_a_tool_calling_model() -> None:
    service, source = _service()
    messages = await run_agent(ToolCallingFakeModel(messages=_script()), [lookup_tool(service)], "Who is calling?")
    tool_message = messages[2]
    assert isinstance(tool_message, ToolMessage) and tool_message.tool_call_id == "t1"
    assert orjson.loads(str(tool_message.content))["customer"]["tier"] == "vip"
    assert messages[-1].content == "The caller is Ada Lovelace, a VIP."
    assert source.calls == ["phone:+14155550123"]
