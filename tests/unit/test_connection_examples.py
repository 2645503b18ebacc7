"""Every example of docs/operations.md "Connecting to your Kafka and Redis" is a configuration warmline accepts.

The managed services are out of reach here, so each block is loaded as a worker would load it
(secret files and certificates replaced by real files of this test) and turned into the Kafka
connection and the Redis client it describes; nothing connects.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from harness.tls import make_pki
from warmline.bootstrap import redis_config
from warmline.errors import KafkaSecurityError
from warmline.settings import load_settings
from warmline.stream.security import kafka_connection

ROOT = Path(__file__).resolve().parents[2]


def _examples() -> list[dict[str, str]]:
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("## Connecting to your Kafka and Redis", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [dict(line.split("=", 1) for line in block.strip().splitlines()) for block in blocks]


EXAMPLES = _examples()


def test_the_section_has_every_deployment_the_docs_promise() -> None:
    assert len(EXAMPLES) == 7
    mechanisms = {e.get("WARMLINE_KAFKA_SASL_MECHANISM") for e in EXAMPLES}
    assert {"AWS_MSK_IAM", "SCRAM-SHA-512", "PLAIN"} <= mechanisms
    assert {e.get("WARMLINE_REDIS_MODE") for e in EXAMPLES} >= {"cluster", "sentinel"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: next(iter(e.values()))[:40])
def test_each_example_is_a_configuration_warmline_accepts(
    example: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    files = {"ca.pem": pki.ca, "worker.pem": pki.client_cert, "worker.key": pki.client_key}
    for name in [n for n in __import__("os").environ if n.startswith(("WARMLINE_", "AWS_"))]:
        monkeypatch.delenv(name)
    for name, value in example.items():
        if value.startswith(("/run/secrets/", "/etc/warmline/")):
            real = files.get(Path(value).name)
            if real is None:  # a secret file
                real = tmp_path / Path(value).name
                real.write_text("s3cret-from-a-file\n")
            value = str(real)
        if "<" in value:
            value = "placeholder-key"
        monkeypatch.setenv(name, value)
    settings = load_settings()
    if settings.kafka_sasl_mechanism == "AWS_MSK_IAM":
        try:
            importlib.import_module("aws_msk_iam_sasl_signer")  # the optional extra warmline[aws]
        except ImportError:
            with pytest.raises(KafkaSecurityError, match=r"pip install 'warmline\[aws\]'"):
                kafka_connection(settings)
            return
    connection = kafka_connection(settings)
    assert connection.protocol == settings.kafka_security_protocol
    client = redis_config(settings).client()
    assert client is not None
