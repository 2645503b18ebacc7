"""Schemathesis against a live worker under load, from the worker's own /openapi.json.

The same checks as ``tests/integration/test_openapi_schemathesis.py`` (no 5xx, every status,
content type, header and body as documented, guarded operations refuse a missing token), run
by ``make faults`` on a worker that has been through every fault and the hostile flood.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

#: Response checks only: what a client of the API relies on.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "ignored_auth",  # a guarded operation called without its token must answer 401
)
SEED = "20261126"


def command(url: str, config: Path, junit: Path, max_examples: int) -> list[str]:
    """The schemathesis CLI call for the worker at *url* (tokens in *config*, results in *junit*)."""
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(max_examples),
        "--seed",
        SEED,
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]


def write_config(path: Path, api_token: str, admin_token: str) -> None:
    """One bearer token per security scheme of the document: schemathesis sends each operation the one it declares."""
    path.write_text(
        f'[auth.openapi.apiToken]\nbearer = "{api_token}"\n\n[auth.openapi.adminToken]\nbearer = "{admin_token}"\n'
    )


def summarize(junit: Path) -> dict[str, Any]:
    """Operations tested and those with a failed check, from schemathesis' JUnit report."""
    cases = list(ET.parse(junit).getroot().iter("testcase"))  # noqa: S314  # our own subprocess wrote it
    failed = [
        case.get("name", "?") for case in cases if case.find("failure") is not None or case.find("error") is not None
    ]
    return {"operations": len(cases), "operations_failed": failed}


async def fuzz(url: str, workdir: Path, api_token: str, admin_token: str, max_examples: int) -> dict[str, Any]:
    """Run schemathesis against *url*; its exit code, the operations it tested and those that failed."""
    workdir.mkdir(parents=True, exist_ok=True)
    config, junit = workdir / "schemathesis.toml", workdir / "schemathesis-junit.xml"
    write_config(config, api_token, admin_token)
    proc = await asyncio.to_thread(
        subprocess.run,
        command(url, config, junit, max_examples),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    (workdir / "schemathesis.log").write_text(output)
    report: dict[str, Any] = {"exit_code": proc.returncode, "max_examples": max_examples}
    if cases := re.search(r"(\d+) generated, (\d+) passed", output):
        report |= {"cases_generated": int(cases[1]), "cases_passed": int(cases[2])}
    if junit.exists():
        report |= summarize(junit)
    return report
