"""WARMLINE_KAFKA_* → the arguments every aiokafka client and Faust get; refusals name the setting."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from warmline.errors import KafkaAuthFailed, KafkaSecurityError, SettingsError
from warmline.settings import Settings, load_settings
from warmline.stream.app import faust_credentials
from warmline.stream.security import OAuthTokenProvider, kafka_connection, rdkafka_producer_config


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in list(__import__("os").environ):
        if name.startswith("WARMLINE_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(f"WARMLINE_{name}", value)
    return load_settings()


def test_plaintext_is_the_default_and_faust_gets_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = kafka_connection(_settings(monkeypatch, BROKER="kafka://k1:9092;k2"))
    assert connection.kwargs() == {"bootstrap_servers": "k1:9092,k2:9092", "security_protocol": "PLAINTEXT"}
    assert faust_credentials(connection) is None


def test_tls_with_the_system_trust_store_checks_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = kafka_connection(_settings(monkeypatch, KAFKA_SECURITY_PROTOCOL="SSL"))
    ctx = connection.security["ssl_context"]
    assert isinstance(ctx, ssl.SSLContext) and ctx.check_hostname and ctx.verify_mode is ssl.CERT_REQUIRED
    assert type(faust_credentials(connection)).__name__ == "SSLCredentials"


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_password_mechanisms_over_tls_as_aiokafka_and_faust_take_them(
    monkeypatch: pytest.MonkeyPatch, mechanism: str
) -> None:
    settings = _settings(
        monkeypatch,
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SASL_MECHANISM=mechanism,
        KAFKA_SASL_USERNAME="svc-warmline",
        KAFKA_SASL_PASSWORD="pw-9Xe",
    )
    connection = kafka_connection(settings)
    kwargs = connection.kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL" and kwargs["sasl_mechanism"] == mechanism
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("svc-warmline", "pw-9Xe")
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)
    credentials = faust_credentials(connection)
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    assert credentials_to_aiokafka_auth(credentials) == {k: v for k, v in kwargs.items() if k != "bootstrap_servers"}
    assert "pw-9Xe" not in repr(credentials) and "pw-9Xe" not in repr(settings)


def test_oauthbearer_takes_a_token_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = kafka_connection(
        _settings(
            monkeypatch,
            KAFKA_SECURITY_PROTOCOL="SASL_SSL",
            KAFKA_SASL_MECHANISM="OAUTHBEARER",
            KAFKA_OAUTH_TOKEN_URL="https://idp.example/token",
            KAFKA_OAUTH_CLIENT_ID="warmline",
            KAFKA_OAUTH_CLIENT_SECRET="cs-1",
        )
    )
    assert isinstance(connection.security["sasl_oauth_token_provider"], OAuthTokenProvider)
    assert type(faust_credentials(connection)).__name__ == "OAuthCredentials"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "WARMLINE_KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "PLAIN"}, "WARMLINE_KAFKA_SASL_USERNAME"),
        ({"KAFKA_SASL_MECHANISM": "PLAIN"}, "WARMLINE_KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        ({"KAFKA_SSL_CA_FILE": "/etc/ca.pem"}, "WARMLINE_KAFKA_SECURITY_PROTOCOL is PLAINTEXT"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CA_FILE": "/nonexistent/ca.pem"}, "WARMLINE_KAFKA_SSL_CA_FILE"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERT_FILE": "/etc/c.pem"},
            "WARMLINE_KAFKA_SSL_CERT_FILE and WARMLINE_KAFKA_SSL_KEY_FILE go together",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "OAUTHBEARER"},
            "WARMLINE_KAFKA_OAUTH_TOKEN_URL",
        ),
    ],
)
def test_an_incomplete_configuration_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], names: str
) -> None:
    with pytest.raises(KafkaSecurityError, match=names):
        kafka_connection(_settings(monkeypatch, **env))


def test_msk_iam_needs_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    settings = _settings(monkeypatch, KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_MECHANISM="AWS_MSK_IAM")
    with pytest.raises(KafkaSecurityError, match="AWS_REGION"):
        kafka_connection(settings)


def test_secrets_come_from_files_and_not_from_both(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("from-a-file\n")
    settings = _settings(monkeypatch, KAFKA_SASL_PASSWORD_FILE=str(secret))
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == "from-a-file"
    monkeypatch.setenv("WARMLINE_KAFKA_SASL_PASSWORD", "inline")
    with pytest.raises(SettingsError, match="WARMLINE_KAFKA_SASL_PASSWORD and WARMLINE_KAFKA_SASL_PASSWORD_FILE"):
        load_settings()
    monkeypatch.delenv("WARMLINE_KAFKA_SASL_PASSWORD")
    monkeypatch.setenv("WARMLINE_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match=r"WARMLINE_KAFKA_SASL_PASSWORD_FILE=.*cannot read it"):
        load_settings()


def test_tilores_and_langsmith_secrets_come_from_files_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from warmline.settings import LangSmithSettings, TiloresSettings

    (tmp_path / "t").write_text("tilores-secret")
    (tmp_path / "l").write_text("ls-key")
    monkeypatch.setenv("TILORES_CLIENT_SECRET_FILE", str(tmp_path / "t"))
    monkeypatch.setenv("LANGSMITH_API_KEY_FILE", str(tmp_path / "l"))
    assert TiloresSettings().client_secret.get_secret_value() == "tilores-secret"
    key = LangSmithSettings().api_key
    assert key is not None and key.get_secret_value() == "ls-key"


async def test_the_oauth_token_is_fetched_once_and_again_before_it_expires() -> None:
    calls: list[dict[str, str]] = []

    async def token(request: web.Request) -> web.Response:
        calls.append({name: str(value) for name, value in (await request.post()).items()})
        return web.json_response({"access_token": f"t{len(calls)}", "expires_in": 300})

    app = web.Application()
    app.router.add_post("/token", token)
    now = [1000.0]
    async with TestServer(app) as server:
        provider = OAuthTokenProvider(str(server.make_url("/token")), "warmline", "cs-1", "kafka", clock=lambda: now[0])
        assert await provider.token() == "t1"
        now[0] += 200  # 100 s left: still good
        assert await provider.token() == "t1"
        now[0] += 45  # 55 s left: fetched again before it expires
        assert await provider.token() == "t2"
    assert calls[0] == {
        "grant_type": "client_credentials",
        "client_id": "warmline",
        "client_secret": "cs-1",
        "scope": "kafka",
    }


async def test_a_refused_oauth_client_is_one_line_without_the_secret() -> None:
    async def refuse(_: web.Request) -> web.Response:
        return web.json_response({"error": "invalid_client"}, status=401)

    app = web.Application()
    app.router.add_post("/token", refuse)
    async with TestServer(app) as server:
        provider = OAuthTokenProvider(str(server.make_url("/token")), "warmline", "cs-secret-77")
        with pytest.raises(KafkaAuthFailed) as refused:
            await provider.token()
    assert "answered 401" in str(refused.value) and "cs-secret-77" not in str(refused.value)


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_the_changelog_producer_gets_the_same_connection_in_librdkafkas_words(
    monkeypatch: pytest.MonkeyPatch, mechanism: str
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # no trust store named: librdkafka looks for the system's
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    settings = _settings(
        monkeypatch,
        BROKER="kafka://k1:9093;k2:9093",
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SASL_MECHANISM=mechanism,
        KAFKA_SASL_USERNAME="svc-warmline",
        KAFKA_SASL_PASSWORD="pw-9Xe",
        KAFKA_SSL_CHECK_HOSTNAME="false",
    )
    config = rdkafka_producer_config(settings)
    assert config is not None
    assert config["bootstrap.servers"] == "k1:9093,k2:9093" and config["security.protocol"] == "SASL_SSL"
    assert (config["sasl.mechanism"], config["sasl.username"], config["sasl.password"]) == (
        mechanism,
        "svc-warmline",
        "pw-9Xe",
    )
    assert config["ssl.ca.location"] == "probe" and config["ssl.endpoint.identification.algorithm"] == "none"
    assert config["acks"] == "all" and config["max.in.flight.requests.per.connection"] == 1
    from confluent_kafka import Producer

    Producer(config).flush(0)  # librdkafka itself accepts every property and value (a typo raises here)


def test_oauth_leaves_the_changelog_to_fausts_producer(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(
        monkeypatch,
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SASL_MECHANISM="OAUTHBEARER",
        KAFKA_OAUTH_TOKEN_URL="https://idp.example/token",
        KAFKA_OAUTH_CLIENT_ID="warmline",
        KAFKA_OAUTH_CLIENT_SECRET="s3cret",
    )
    assert rdkafka_producer_config(settings) is None  # librdkafka would ask for tokens inside its poll


def test_a_misconfigured_connection_is_refused_for_the_changelog_producer_too(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, KAFKA_SECURITY_PROTOCOL="SASL_SSL")
    with pytest.raises(KafkaSecurityError, match="WARMLINE_KAFKA_SASL_MECHANISM"):
        rdkafka_producer_config(settings)


def test_one_record_batches_are_librdkafkas_batch_num_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    embedded = rdkafka_producer_config(_settings(monkeypatch, PRODUCER_MAX_BATCH_SIZE="1"))
    assert embedded is not None and embedded["batch.num.messages"] == 1 and "batch.size" not in embedded
    kafka = rdkafka_producer_config(_settings(monkeypatch))  # librdkafka's own batches, grown with the round trip
    assert kafka is not None and "batch.size" not in kafka and "batch.num.messages" not in kafka
    assert kafka["linger.ms"] == 0


def test_librdkafka_checks_the_host_name_and_finds_the_trust_store_python_would(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    config = rdkafka_producer_config(_settings(monkeypatch, KAFKA_SECURITY_PROTOCOL="SSL"))
    assert config is not None
    assert config["ssl.endpoint.identification.algorithm"] == "https" and config["ssl.ca.location"] == "probe"
    bundle = tmp_path / "bundle.pem"
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    config = rdkafka_producer_config(_settings(monkeypatch, KAFKA_SECURITY_PROTOCOL="SSL"))
    assert config is not None and config["ssl.ca.location"] == str(bundle)
