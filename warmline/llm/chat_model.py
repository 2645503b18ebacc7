"""WARMLINE_CHAT_MODEL (``provider:model``) → a LangChain chat model through ``init_chat_model``."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import SettingsError
from .fake_model import PROVIDER as FAKE_PROVIDER
from .fake_model import DelayedFakeChatModel, parse_delay

logger = logging.getLogger(__name__)

VARIABLE = "WARMLINE_CHAT_MODEL"


def load_chat_model(spec: str | None) -> Any:
    """The chat model for *spec*, or None when unset; a missing package is one SettingsError line naming it.

    ``init_chat_model`` lives in the ``langchain`` package (not in langchain-core), which brings
    langgraph along: it is the optional extra ``warmline[llm]``, with the provider's package
    (langchain-openai, langchain-anthropic, langchain-ollama, ...) beside it, because only
    operators who set a model should pay for them.
    """
    if not spec:
        return None
    provider, sep, model = spec.partition(":")
    if not sep or not provider.strip() or not model.strip():
        raise SettingsError(f"{VARIABLE}: expected provider:model such as openai:gpt-4o-mini, got {spec!r}")
    if provider.strip() == FAKE_PROVIDER:
        return _fake(spec, model)
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise SettingsError(
            f"{VARIABLE}={spec} needs the `langchain` package: pip install 'warmline[llm]' and the provider's package"
        ) from None
    try:
        return init_chat_model(model.strip(), model_provider=provider.strip())
    except ImportError as e:  # init_chat_model names the provider package (e.g. langchain-openai)
        raise SettingsError(f"{VARIABLE}={spec}: {str(e).splitlines()[0]}") from None
    except Exception as e:  # noqa: BLE001  # a bad name or a missing API key: say it in one line at start-up
        raise SettingsError(
            f"{VARIABLE}={spec}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from None


def _fake(spec: str, delay: str) -> DelayedFakeChatModel:
    """``fake:2s``: the tests' and benchmarks' stand-in model (no package, no network, a real wait)."""
    try:
        delay_s = parse_delay(delay)
    except ValueError as e:
        raise SettingsError(f"{VARIABLE}={spec}: expected fake:<delay> such as fake:2s or fake:1500ms ({e})") from None
    logger.warning("%s=%s: a fake model answering after %g s, for tests and benchmarks only", VARIABLE, spec, delay_s)
    return DelayedFakeChatModel(delay_s=delay_s)
