"""Settings: env names, validation with the variable named, and .env.template kept honest."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from warmline.errors import SettingsError
from warmline.settings import Settings, TiloresSettings, load_settings, parse_latency_ms

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_match_design() -> None:
    s = load_settings()
    assert (s.web_port, s.topic_partitions, s.consumer_fetch_max_wait_ms) == (6066, 8, 500)
    assert (s.l1_ttl_s, s.l2_ttl_s, s.negative_ttl_s, s.max_stale_s, s.l1_max_entries) == (
        300,
        3600,
        30,
        86400,
        100_000,
    )
    assert s.redis_prefix == "warmline:v1:"


def test_env_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARMLINE_CONSUMER_FETCH_MAX_WAIT_MS", "5")
    monkeypatch.setenv("WARMLINE_DEFAULT_REGION", "de")
    s = load_settings()
    assert s.consumer_fetch_max_wait_ms == 5
    assert s.default_region == "DE"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WARMLINE_WEB_PORT", "seventy"),
        ("WARMLINE_TOPIC_PARTITIONS", "0"),
        ("WARMLINE_DEMO_LATENCY_MS", "2000-500"),
        ("WARMLINE_DEFAULT_REGION", "XX"),
        ("WARMLINE_SOURCE", "oracle"),
        ("WARMLINE_BROKER", "localhost"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert name in str(err.value)


def test_latency_ranges() -> None:
    assert parse_latency_ms("50") == (50, 50)
    assert parse_latency_ms("500-2000") == (500, 2000)
    with pytest.raises(ValueError, match="range"):
        parse_latency_ms("fast")


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARMLINE_ADMIN_TOKEN", "hunter2")
    assert "hunter2" not in repr(load_settings())


def test_broker_servers() -> None:
    assert load_settings(broker="kafka://a:1;b").broker_servers == "a:1,b:9092"


def _template_names() -> set[str]:
    text = (ROOT / ".env.template").read_text()
    return set(re.findall(r"^#?\s*((?:WARMLINE|TILORES)_[A-Z0-9_]+)=", text, flags=re.M))


def test_env_template_lists_exactly_the_settings() -> None:
    expected = {f"WARMLINE_{f.upper()}" for f in Settings.model_fields}
    expected |= {f"TILORES_{f.upper()}" for f in TiloresSettings.model_fields}
    assert _template_names() == expected


def test_bad_setting_gives_one_clear_line_not_a_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "warmline", "worker"],
        env={"WARMLINE_WEB_PORT": "nope", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "WARMLINE_WEB_PORT" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_platform_settings_are_read_once_then_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A running worker sees one configuration, even if its environment changes under it."""
    monkeypatch.setenv("TILORES_API_URL", "https://first.example")
    monkeypatch.setenv("LANGSMITH_PROJECT", "first")
    settings = load_settings()
    assert settings.tilores.api_url == "https://first.example"
    assert settings.langsmith.project == "first"
    monkeypatch.setenv("TILORES_API_URL", "https://second.example")
    monkeypatch.setenv("LANGSMITH_PROJECT", "second")
    assert settings.tilores.api_url == "https://first.example"
    assert settings.langsmith.project == "first"
    assert load_settings().tilores.api_url == "https://second.example"


def test_env_template_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copied .env.template changes nothing: each value it sets is the setting's default."""
    text = (ROOT / ".env.template").read_text()
    defaults = load_settings()
    differ = []
    for name, value in re.findall(r"^(WARMLINE_[A-Z0-9_]+)=(.*)$", text, flags=re.M):
        field = name.removeprefix("WARMLINE_").lower()
        with monkeypatch.context() as m:
            m.setenv(name, value)
            if getattr(load_settings(), field) != getattr(defaults, field):
                differ.append(f"{name}={value}")
    assert not differ, differ
