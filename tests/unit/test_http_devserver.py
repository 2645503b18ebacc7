"""`warmline dev` says in its ready lines whether reads need a token."""

from __future__ import annotations

from warmline.devserver import ready_lines
from warmline.settings import load_settings

BASE = "http://127.0.0.1:6066"


def test_ready_lines_say_reads_are_open_without_api_tokens() -> None:
    lines = ready_lines(load_settings(), BASE, "+14155550123", "127.0.0.1:9092")
    assert lines[0] == f"  curl -s '{BASE}/v1/lookup?phone=%2B14155550123'"
    assert "reads are open: WARMLINE_API_TOKENS is not set" in lines[1]
    assert f"{BASE}/openapi.json" in lines[2]


def test_ready_lines_show_the_header_when_api_tokens_are_set() -> None:
    lines = ready_lines(load_settings(api_tokens="k1,k2"), BASE, "+14155550123", "127.0.0.1:9092")
    assert "Authorization: Bearer $TOKEN" in lines[0]
    assert "reads need a bearer token" in lines[1]
    assert "k1" not in "".join(lines)  # the tokens themselves are never printed
