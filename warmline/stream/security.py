"""How every Kafka client warmline makes connects: bootstrap servers, TLS and SASL, from one set of settings.

The worker's Faust app (``stream/app.py``, as Faust credentials), the broker check and topic creation, the
dead-letter producer, every command and ``warmline.client.LookupClient`` all take a
``KafkaConnection`` and pass ``kwargs()`` to aiokafka, so a setting added here reaches them all.
The names follow the Kafka client properties (docs/operations.md, "Connecting to your Kafka and
Redis"): WARMLINE_KAFKA_SECURITY_PROTOCOL, WARMLINE_KAFKA_SSL_*, WARMLINE_KAFKA_SASL_*,
WARMLINE_KAFKA_OAUTH_*.

``probe()`` opens one connection the way aiokafka will and turns what goes wrong into one line
that names the cause and the setting to check (BrokerUnreachable / KafkaAuthFailed): aiokafka
itself logs such failures and retries until a generic "Unable to bootstrap".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiokafka.abc import AbstractTokenProvider
from aiokafka.conn import create_conn
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from ..errors import KafkaAuthFailed, KafkaSecurityError

if TYPE_CHECKING:
    from ..settings import Settings

SSL_PROTOCOLS = ("SSL", "SASL_SSL")
SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
#: Mechanisms that send a user name and password.
PASSWORD_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class OAuthTokenProvider(AbstractTokenProvider):  # type: ignore[misc]  # aiokafka is untyped
    """OIDC client credentials for SASL/OAUTHBEARER: a token fetched before the last one expires.

    The token and the client secret never reach a log line: errors name the token URL's status only.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh_before_s: float = 60.0,
    ) -> None:
        self._url, self._client_id, self._secret, self._scope = token_url, client_id, client_secret, scope
        self._clock = clock
        self._refresh_before_s = refresh_before_s
        self._token: str | None = None
        self._expires = 0.0
        self._lock: asyncio.Lock | None = None

    async def token(self) -> str:
        """The current access token, fetched again when it expires within ``refresh_before_s``."""
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._token is None or self._clock() >= self._expires - self._refresh_before_s:
                self._token, lifetime = await self._fetch()
                self._expires = self._clock() + lifetime
            return self._token

    async def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._secret}
        if self._scope:
            form["scope"] = self._scope
        try:
            async with aiohttp.ClientSession() as session, session.post(self._url, data=form) as resp:
                if resp.status != 200:
                    raise KafkaAuthFailed(
                        f"the OAuth token endpoint WARMLINE_KAFKA_OAUTH_TOKEN_URL answered {resp.status}: "
                        "check WARMLINE_KAFKA_OAUTH_CLIENT_ID / _CLIENT_SECRET / _SCOPE"
                    )
                body = await resp.json(content_type=None)
        except aiohttp.ClientError as e:
            raise KafkaAuthFailed(
                f"the OAuth token endpoint WARMLINE_KAFKA_OAUTH_TOKEN_URL is unreachable ({type(e).__name__})"
            ) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise KafkaAuthFailed("the OAuth token endpoint answered without an access_token")
        lifetime = body.get("expires_in", 3600)
        return token, float(lifetime) if isinstance(lifetime, int | float) else 3600.0


class MskIamTokenProvider(AbstractTokenProvider):  # type: ignore[misc]  # aiokafka is untyped
    """Amazon MSK IAM: a SASL/OAUTHBEARER token signed by AWS's own signer (``pip install 'warmline[aws]'``)."""

    def __init__(self, region: str) -> None:
        try:
            from aws_msk_iam_sasl_signer import MSKAuthTokenProvider  # type: ignore[import-not-found]
        except ImportError:
            raise KafkaSecurityError(
                "WARMLINE_KAFKA_SASL_MECHANISM=AWS_MSK_IAM needs AWS's signer: pip install 'warmline[aws]'"
            ) from None
        self._signer = MSKAuthTokenProvider
        self._region = region

    async def token(self) -> str:
        """A fresh signed token (the signer caches nothing; it is cheap and valid for 15 minutes)."""
        token, _expiry_ms = await asyncio.to_thread(self._signer.generate_auth_token, self._region)
        return str(token)


@dataclass(frozen=True)
class KafkaConnection:
    """Bootstrap servers plus the aiokafka security arguments every client of this process uses."""

    bootstrap: str
    security: Mapping[str, Any] = field(default_factory=lambda: {"security_protocol": "PLAINTEXT"})

    @classmethod
    def of(cls, target: str | KafkaConnection) -> KafkaConnection:
        """*target* itself, or a plaintext connection to the bootstrap servers it names."""
        return target if isinstance(target, KafkaConnection) else cls(target)

    @property
    def protocol(self) -> str:
        """security_protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
        return str(self.security.get("security_protocol", "PLAINTEXT"))

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin, client)."""
        return {"bootstrap_servers": self.bootstrap, **self.security}

    async def probe(self, timeout_s: float = 10.0) -> None:
        """Connect to the first bootstrap server as aiokafka will; a refusal becomes one line naming the setting.

        Raises KafkaAuthFailed for TLS and SASL refusals; returns on success or when the server is
        merely unreachable (the caller's metadata request reports that, with its own advice).
        """
        host, _, port = self.bootstrap.split(",")[0].rpartition(":")
        host = host.strip("[]")
        try:
            conn = await asyncio.wait_for(
                create_conn(host, int(port), request_timeout_ms=int(timeout_s * 1000), **self.security),
                timeout_s,
            )
        except ssl.SSLCertVerificationError as e:
            raise KafkaAuthFailed(_verify_failure(self.bootstrap, e)) from None
        except ssl.SSLError as e:
            raise KafkaAuthFailed(
                f"TLS with the Kafka broker at {self.bootstrap} failed ({e.reason or e}): the broker may require "
                "a client certificate (WARMLINE_KAFKA_SSL_CERT_FILE / _KEY_FILE) or refuse the one sent"
            ) from None
        except (ConnectionResetError, KafkaConnectionError):  # connected, then closed during the first exchange
            if self.protocol in SSL_PROTOCOLS:
                raise KafkaAuthFailed(
                    f"the Kafka broker at {self.bootstrap} closed the connection after the TLS handshake: it "
                    "requires a client certificate it trusts (WARMLINE_KAFKA_SSL_CERT_FILE / _KEY_FILE)"
                ) from None
            return
        except (SaslAuthenticationFailed, UnsupportedSaslMechanismError) as e:
            raise KafkaAuthFailed(
                f"the Kafka broker at {self.bootstrap} refused SASL {self.security.get('sasl_mechanism')} "
                f"({type(e).__name__}): check WARMLINE_KAFKA_SASL_MECHANISM and its credentials"
            ) from None
        except (TimeoutError, KafkaError, OSError):
            return  # not a security refusal: the metadata request that follows says what to do
        with contextlib.suppress(Exception):
            conn.close()


def _verify_failure(bootstrap: str, error: ssl.SSLCertVerificationError) -> str:
    if "mismatch" in str(error.verify_message or "").lower() or "match" in str(error).lower():
        return (
            f"the Kafka broker's TLS certificate does not name the host in WARMLINE_BROKER ({bootstrap}): connect by "
            "the name in its certificate, or set WARMLINE_KAFKA_SSL_CHECK_HOSTNAME=false (private networks only)"
        )
    return (
        f"the Kafka broker's TLS certificate at {bootstrap} is not trusted ({error.verify_message}): set "
        "WARMLINE_KAFKA_SSL_CA_FILE to the CA that signed it (unset, the system's trust store is used)"
    )


def ssl_context(
    ca_file: str | None,
    cert_file: str | None,
    key_file: str | None,
    key_password: str | None,
    *,
    check_hostname: bool = True,
    prefix: str = "WARMLINE_KAFKA_SSL",
) -> ssl.SSLContext:
    """A client TLS context: *ca_file* or the system trust store; a client certificate for mutual TLS."""
    try:
        ctx = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as e:
        raise KafkaSecurityError(f"{prefix}_CA_FILE={ca_file}: not a readable PEM CA file ({e})") from None
    ctx.check_hostname = check_hostname
    if not check_hostname:
        ctx.verify_mode = ssl.CERT_REQUIRED  # the chain is still verified
    if bool(cert_file) != bool(key_file):
        raise KafkaSecurityError(f"{prefix}_CERT_FILE and {prefix}_KEY_FILE go together (mutual TLS)")
    if cert_file and key_file:
        try:
            ctx.load_cert_chain(cert_file, key_file, password=key_password)
        except (OSError, ssl.SSLError) as e:
            raise KafkaSecurityError(
                f"{prefix}_CERT_FILE / _KEY_FILE could not be loaded "
                f"({type(e).__name__}: {getattr(e, 'strerror', None) or e}); "
                f"a key with a passphrase needs {prefix}_KEY_PASSWORD"
            ) from None
    return ctx


def kafka_connection(settings: Settings) -> KafkaConnection:
    """The KafkaConnection the WARMLINE_KAFKA_* settings describe; KafkaSecurityError names what is off."""
    security: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    security.update(_tls(settings))  # first: a TLS setting that is off is named before a SASL one
    security.update(_sasl(settings))
    return KafkaConnection(settings.broker_servers, security)


def rdkafka_producer_config(settings: Settings) -> dict[str, Any] | None:
    """librdkafka's producer properties for the connection ``kafka_connection`` describes (which
    checks the settings), or None for the SASL mechanisms whose tokens come from async code
    (OAUTHBEARER, AWS_MSK_IAM): librdkafka asks for those from inside its own poll.

    acks=all and one request in flight per broker, so a retry cannot reorder a partition's records.
    librdkafka's produce request carries one partition's batch, so with one in flight the batches
    must be able to grow with the round trip: librdkafka's own batch size (up to 1 MB), filled while
    the request before is in flight (no linger). At WARMLINE_PRODUCER_MAX_BATCH_SIZE=1, the embedded
    broker's profile (Tansu stores batched produces with wrong end offsets), a batch holds one
    record: batch.num.messages=1 (a batch.size of 1 byte made librdkafka send more requests, twice
    the broker's CPU per record, measured). With no CA file the trust store is SSL_CERT_FILE or
    SSL_CERT_DIR when set, as for Python's own TLS, and the system's otherwise.
    """
    kafka_connection(settings)  # the same checks, the same messages
    protocol, mechanism = settings.kafka_security_protocol, settings.kafka_sasl_mechanism
    if protocol in SASL_PROTOCOLS and mechanism not in PASSWORD_MECHANISMS:
        return None
    config: dict[str, Any] = {
        "bootstrap.servers": settings.broker_servers,
        "client.id": f"{settings.app_id}-l1-changelog",
        "security.protocol": protocol,
        "acks": "all",
        "max.in.flight.requests.per.connection": 1,
        "linger.ms": 0,
    }
    if settings.producer_max_batch_size <= 1:
        config["batch.num.messages"] = 1
    if protocol in SSL_PROTOCOLS:
        config["ssl.ca.location"] = (
            _path(settings.kafka_ssl_ca_file)
            or os.environ.get("SSL_CERT_FILE")
            or os.environ.get("SSL_CERT_DIR")
            or "probe"  # librdkafka's search of the system's usual trust store paths
        )
        config["ssl.endpoint.identification.algorithm"] = "https" if settings.kafka_ssl_check_hostname else "none"
        if settings.kafka_ssl_cert_file:
            config["ssl.certificate.location"] = _path(settings.kafka_ssl_cert_file)
            config["ssl.key.location"] = _path(settings.kafka_ssl_key_file)
            if settings.kafka_ssl_key_password is not None:
                config["ssl.key.password"] = _secret(settings.kafka_ssl_key_password)
    if protocol in SASL_PROTOCOLS:
        config["sasl.mechanism"] = mechanism
        config["sasl.username"] = settings.kafka_sasl_username
        config["sasl.password"] = _secret(settings.kafka_sasl_password)
    return config


def _tls(settings: Settings) -> dict[str, Any]:
    """The ``ssl_context`` of SSL and SASL_SSL; nothing for the other protocols, which take no TLS files."""
    protocol = settings.kafka_security_protocol
    if protocol in SSL_PROTOCOLS:
        return {
            "ssl_context": ssl_context(
                _path(settings.kafka_ssl_ca_file),
                _path(settings.kafka_ssl_cert_file),
                _path(settings.kafka_ssl_key_file),
                _secret(settings.kafka_ssl_key_password),
                check_hostname=settings.kafka_ssl_check_hostname,
            )
        }
    if any((settings.kafka_ssl_ca_file, settings.kafka_ssl_cert_file, settings.kafka_ssl_key_file)):
        raise KafkaSecurityError(
            f"WARMLINE_KAFKA_SSL_* files are set but WARMLINE_KAFKA_SECURITY_PROTOCOL is {protocol}: "
            "use SSL or SASL_SSL"
        )
    return {}


def _sasl(settings: Settings) -> dict[str, Any]:
    """The SASL mechanism and its credentials for SASL_PLAINTEXT and SASL_SSL; nothing for the other protocols."""
    protocol, mechanism = settings.kafka_security_protocol, settings.kafka_sasl_mechanism
    if protocol not in SASL_PROTOCOLS:
        if mechanism is not None:
            raise KafkaSecurityError(
                f"WARMLINE_KAFKA_SASL_MECHANISM={mechanism} needs WARMLINE_KAFKA_SECURITY_PROTOCOL=SASL_SSL "
                "(or SASL_PLAINTEXT)"
            )
        return {}
    if mechanism is None:
        raise KafkaSecurityError(f"WARMLINE_KAFKA_SECURITY_PROTOCOL={protocol} needs WARMLINE_KAFKA_SASL_MECHANISM")
    if mechanism in PASSWORD_MECHANISMS:
        return _password_sasl(settings, mechanism)
    if mechanism == "OAUTHBEARER":
        return _oauth_sasl(settings)
    return _msk_iam_sasl()


def _password_sasl(settings: Settings, mechanism: str) -> dict[str, Any]:
    """PLAIN or SCRAM: the user name and password."""
    user, password = settings.kafka_sasl_username, _secret(settings.kafka_sasl_password)
    if not user or not password:
        raise KafkaSecurityError(
            f"SASL {mechanism} needs WARMLINE_KAFKA_SASL_USERNAME and WARMLINE_KAFKA_SASL_PASSWORD"
        )
    return {"sasl_mechanism": mechanism, "sasl_plain_username": user, "sasl_plain_password": password}


def _oauth_sasl(settings: Settings) -> dict[str, Any]:
    """OAUTHBEARER with tokens from an OIDC token URL (client credentials)."""
    url, client_id = settings.kafka_oauth_token_url, settings.kafka_oauth_client_id
    secret = _secret(settings.kafka_oauth_client_secret)
    if not url or not client_id or not secret:
        raise KafkaSecurityError(
            "SASL OAUTHBEARER needs WARMLINE_KAFKA_OAUTH_TOKEN_URL, WARMLINE_KAFKA_OAUTH_CLIENT_ID and "
            "WARMLINE_KAFKA_OAUTH_CLIENT_SECRET"
        )
    provider = OAuthTokenProvider(url, client_id, secret, settings.kafka_oauth_scope)
    return {"sasl_mechanism": "OAUTHBEARER", "sasl_oauth_token_provider": provider}


def _msk_iam_sasl() -> dict[str, Any]:
    """AWS_MSK_IAM: OAUTHBEARER with a token from AWS's signer, for the region AWS's own variables name."""
    import os

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise KafkaSecurityError("WARMLINE_KAFKA_SASL_MECHANISM=AWS_MSK_IAM needs AWS_REGION")
    return {"sasl_mechanism": "OAUTHBEARER", "sasl_oauth_token_provider": MskIamTokenProvider(region)}


def _path(value: Any) -> str | None:
    return str(value) if value else None


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None
