"""TLS for tests and benchmarks: a private CA with server and client certificates, and stunnel in front of a Tansu.

Tansu 0.6 cannot serve TLS itself; Debian's stunnel4 terminates TLS and forwards plaintext to it,
and Tansu advertises stunnel's port, so every connection a client makes (bootstrap and the
advertised broker) goes through TLS. With ``require_client_cert`` stunnel asks for a client
certificate signed by the CA (mutual TLS).
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from warmline.commands.processes import free_port

from .broker import Broker
from .procs import Service

STUNNEL = shutil.which("stunnel4") or shutil.which("stunnel")


@dataclass(frozen=True)
class Pki:
    """PEM files: a CA, a server certificate for 127.0.0.1/localhost, one for another name, a client's."""

    ca: Path
    other_ca: Path  # a CA that signed nothing here: "the wrong CA"
    server_cert: Path
    server_key: Path
    wrong_name_cert: Path  # signed by the CA, for other.example only
    wrong_name_key: Path
    client_cert: Path
    client_key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    names: tuple[str, ...] = (),
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        sans: list[x509.GeneralName] = []
        for n in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def make_pki(directory: Path) -> Pki:
    """A fresh CA and the certificates the TLS tests need, in *directory*."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, other_key = _key(), _key()
    ca = _cert("warmline test CA", ca_key, None, ca=True)
    other = _cert("some other CA", other_key, None, ca=True)
    issuer = (ca.subject, ca_key)
    server_key, wrong_key, client_key = _key(), _key(), _key()
    return Pki(
        ca=_write_cert(directory / "ca.pem", ca),
        other_ca=_write_cert(directory / "other-ca.pem", other),
        server_cert=_write_cert(
            directory / "server.pem", _cert("localhost", server_key, issuer, names=("localhost", "127.0.0.1"))
        ),
        server_key=_write_key(directory / "server.key", server_key),
        wrong_name_cert=_write_cert(
            directory / "wrong-name.pem", _cert("other.example", wrong_key, issuer, names=("other.example",))
        ),
        wrong_name_key=_write_key(directory / "wrong-name.key", wrong_key),
        client_cert=_write_cert(directory / "client.pem", _cert("warmline worker", client_key, issuer)),
        client_key=_write_key(directory / "client.key", client_key),
    )


@dataclass
class Stunnel(Service):
    """stunnel4 accepting TLS on its port and forwarding plaintext to *config*'s ``connect``."""

    config: Path = Path()
    pki: Pki | None = None
    ready_timeout_s: float = 10.0  # for the TLS handshake, once the port listens

    def command(self) -> list[str]:
        assert STUNNEL is not None
        return [STUNNEL, str(self.config)]

    def wait_ready(self) -> None:
        """Listening is not enough: the port must answer a TLS handshake, so it is stunnel's and not
        another process's that held the port when stunnel failed to bind it."""
        super().wait_ready()
        assert self.pki is not None
        context = ssl.create_default_context(cafile=str(self.pki.ca))
        context.load_cert_chain(self.pki.client_cert, self.pki.client_key)
        try:
            with (
                socket.create_connection(("127.0.0.1", self.port), timeout=self.ready_timeout_s) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1"),
            ):
                return
        except ssl.SSLCertVerificationError:
            return  # stunnel answered, with a certificate for another name (TlsBroker's wrong_name)
        except OSError as e:
            reason = f"stunnel on port {self.port} does not answer TLS ({e}): {self.log_tail()}"
            raise RuntimeError(reason) from e


class TlsBroker:
    """Tansu on a private plaintext port, reachable only through stunnel's TLS port."""

    def __init__(self, workdir: Path, pki: Pki, *, require_client_cert: bool = False, wrong_name: bool = False) -> None:
        if STUNNEL is None:
            raise RuntimeError("stunnel4 is not installed (apt-get install stunnel4; .ci/run installs it)")
        self.workdir, self.pki = workdir, pki
        self.port = free_port()
        # Tansu tells clients to connect to stunnel's port
        self.broker = Broker("tansu", workdir / f"tansu-{self.port}.log", advertised_port=self.port)
        cert, key = (pki.wrong_name_cert, pki.wrong_name_key) if wrong_name else (pki.server_cert, pki.server_key)
        verify = f"CAfile = {pki.ca}\nverify = 2\n" if require_client_cert else ""
        config = workdir / f"stunnel-{self.port}.conf"
        config.write_text(
            f"foreground = yes\npid =\nsyslog = no\noutput = {workdir / f'stunnel-{self.port}.log'}\n"
            f"[kafka]\naccept = 127.0.0.1:{self.port}\nconnect = 127.0.0.1:{self.broker.port}\n"
            f"cert = {cert}\nkey = {key}\n{verify}"
        )
        self.stunnel = Stunnel("stunnel", workdir / f"stunnel-{self.port}.out", port=self.port, config=config, pki=pki)

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap  # stunnel's port: Tansu advertises it

    @property
    def url(self) -> str:
        return self.broker.url

    def start(self) -> TlsBroker:
        self.broker.start()
        self.stunnel.start()
        return self

    def stop(self) -> None:
        self.stunnel.stop(grace_s=5)
        self.broker.stop(grace_s=5)
