"""`warmline dev` says in its ready lines whether reads need a token."""

from __future__ import annotations

from warmline.commands.dev import api_access_line
from warmline.settings import load_settings


def test_the_ready_lines_say_reads_are_open_without_api_tokens() -> None:
    assert "reads are open: WARMLINE_API_TOKENS is not set" in api_access_line(load_settings())


def test_the_ready_lines_ask_for_the_header_when_api_tokens_are_set() -> None:
    line = api_access_line(load_settings(api_tokens="k1,k2"))
    assert "reads need a token" in line and "Authorization: Bearer" in line
    assert "k1" not in line  # the tokens themselves are never printed
