"""Every client example of README.md and docs/protocol.md, run as written against `warmline dev`.

`warmline dev` runs as a user starts it (its own data dir, broker on 127.0.0.1:9092, HTTP on
6066), and the examples run from "another terminal" with no WARMLINE_* variable exported. Only
when 9092 or 6066 is busy on this machine do both sides move to free ports, and then the
examples' addresses are rewritten to match (the one thing a user would change too).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from warmline.commands.processes import free_port, port_taken, stop_process

from ..stack import random_suffix

ROOT = Path(__file__).resolve().parents[2]
WARMLINE = str(Path(sys.executable).with_name("warmline"))


@dataclass
class DevStack:
    cwd: Path
    broker_port: int
    web_port: int
    env: dict[str, str]

    def rewrite(self, text: str) -> str:
        """The example as a user of this stack would type it."""
        return text.replace("127.0.0.1:9092", f"127.0.0.1:{self.broker_port}").replace(
            "127.0.0.1:6066", f"127.0.0.1:{self.web_port}"
        )

    def run(self, args: list[str], timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout_s)


@pytest.fixture(name="dev", scope="module")
def _dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    cwd = tmp_path_factory.mktemp("dev")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARMLINE_", "TILORES_"))}
    broker_port, web_port = 9092, 6066
    if port_taken(broker_port) or port_taken(web_port):
        broker_port, web_port = free_port(), free_port()
        env.update(WARMLINE_BROKER=f"kafka://127.0.0.1:{broker_port}", WARMLINE_WEB_PORT=str(web_port))
    log = open(cwd / "dev.log", "w")  # noqa: SIM115  # closed below
    proc = subprocess.Popen(
        [WARMLINE, "dev", "--broker-port", str(broker_port)],
        cwd=cwd,
        # Its own Redis namespace, so that what earlier runs cached does not turn the README's MISS into L2.
        env={**env, "WARMLINE_WEB_PORT": str(web_port), "WARMLINE_REDIS_PREFIX": f"warmline:v1:doc-{random_suffix()}:"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while "warmline is ready" not in (cwd / "dev.log").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (cwd / "dev.log").read_text()[-3000:]
            time.sleep(0.2)
        yield DevStack(cwd, broker_port, web_port, env)
    finally:
        stop_process(proc, grace_s=30)
        log.close()


def _blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), flags=re.S)


def test_the_readme_curl_session(dev: DevStack) -> None:
    [session] = [b for b in _blocks(ROOT / "README.md", "console") if "$ curl" in b]
    commands = [line.removeprefix("$ ").split("  #")[0] for line in session.splitlines() if line.startswith("$ ")]
    shown_tiers = re.findall(r"X-Cache: (\w+)", session)
    assert len(commands) == len(shown_tiers) == 2
    for command, tier in zip(commands, shown_tiers, strict=True):
        out = dev.run(["sh", "-c", dev.rewrite(command)]).stdout
        assert out.startswith("HTTP/1.1 200 OK") and f"X-Cache: {tier}" in out, out


@pytest.mark.parametrize("index", range(len(_blocks(ROOT / "docs" / "protocol.md", "python"))))
def test_the_python_examples_of_the_protocol_page(dev: DevStack, index: int) -> None:
    code = dev.rewrite(_blocks(ROOT / "docs" / "protocol.md", "python")[index])
    done = dev.run([sys.executable, "-c", code])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok "), done.stdout


def test_commands_from_a_second_terminal(dev: DevStack) -> None:
    lookup = dev.run([WARMLINE, "lookup", "--customer-id", "C-000321"])
    assert lookup.returncode == 0 and '"status": "ok"' in lookup.stdout, lookup.stderr
    sim = dev.run([WARMLINE, "simulate", "--rate", "4", "--duration", "3", "--wait", "1-2", "--immediate", "0"])
    assert sim.returncode == 0, sim.stderr[-2000:]
    assert "warm at answer (L1)" in sim.stderr  # the table, for people (--json: the report on stdout)


def test_a_command_without_a_broker_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARMLINE_")}
    env["WARMLINE_BROKER"] = f"kafka://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [WARMLINE, "lookup", "--phone", "+14155550123"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no Kafka broker answered" in done.stderr and "Traceback" not in done.stderr
