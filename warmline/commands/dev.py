"""`warmline dev`: Tansu + demo data + one worker in the foreground; Ctrl-C stops all of it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from rich.console import Console

from ..errors import DevStackError
from ..models.protocol import LOOKUP_PATH
from ..settings import Settings
from .embedded_broker import Tansu
from .processes import port_taken, stop_process
from .worker_output import pump

READY_TIMEOUT_S = 120.0


#: Where `warmline dev` puts the broker: the port every Kafka tool and every warmline command assumes.
DEV_BROKER_PORT = 9092


def worker_env(settings: Settings, broker_url: str) -> dict[str, str]:
    """The environment of a dev worker: the caller's, pointed at the dev broker.

    The worker recognizes the embedded broker and applies its settings itself (stream/broker.py).
    """
    env = dict(os.environ)
    env["WARMLINE_BROKER"] = broker_url
    env["WARMLINE_DATA_DIR"] = str(settings.data_dir)
    return env


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], timeout_s: float = READY_TIMEOUT_S) -> float:
    """Poll /readyz until 200; return the seconds it took. Raises DevStackError if the worker dies."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if proc.poll() is not None:
            raise DevStackError(f"the worker exited with code {proc.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base_url}/readyz", timeout=1) as resp,  # noqa: S310  # our own localhost URL
        ):
            if resp.status == 200:
                return time.monotonic() - started
        time.sleep(0.25)
    raise DevStackError(f"the worker was not ready within {timeout_s:.0f}s")


def _example_phone(settings: Settings) -> str:
    from ..sources.demo.generate import sample_contacts

    return sample_contacts(settings.demo_db_path, "phone", 1)[0]


def api_access_line(settings: Settings) -> str:
    """The ready line that says whether reads need a token (`warmline dev` itself never sets one)."""
    if settings.api_token_list:
        return "  reads need a token (WARMLINE_API_TOKENS is set): add -H 'Authorization: Bearer …' to the curl below"
    return "  reads are open: WARMLINE_API_TOKENS is not set (set it to require a bearer token; see /openapi.json)"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _start_worker(
    settings: Settings, broker_url: str, log_path: Path, console: Console, verbose: bool
) -> tuple[subprocess.Popen[bytes], threading.Thread | None]:
    """The worker process and, unless *verbose*, the thread sorting its output (worker_output.py)."""
    worker = subprocess.Popen(  # our own interpreter and module
        [sys.executable, "-m", "warmline", "worker"],
        env=worker_env(settings, broker_url),
        start_new_session=True,
        stdout=None if verbose else subprocess.PIPE,
        stderr=None if verbose else subprocess.STDOUT,
    )
    if worker.stdout is None:
        return worker, None

    def echo(line: str) -> None:
        console.print(line, markup=False, highlight=False, soft_wrap=True)

    return worker, pump(worker.stdout, log_path, echo)


def _print_ready(settings: Settings, base: str, bootstrap: str, log_path: Path | None, console: Console) -> None:
    """The ready block after its first line: how to look a caller up, and where the worker's log is."""
    phone = _example_phone(settings)
    console.print(api_access_line(settings))
    console.print(f"  curl -s '{base}{LOOKUP_PATH}?phone={phone.replace('+', '%2B')}'")
    console.print(f"  warmline lookup --phone '{phone}'    # the same over Kafka, from another terminal")
    console.print(f"  (Kafka bootstrap: {bootstrap}; Ctrl-C stops everything)")
    if log_path is not None:
        console.print(f"  worker log: {log_path} (`warmline dev --verbose` shows it here)")
    console.print()


def _stop_on_signals() -> None:
    """SIGTERM and SIGINT raise KeyboardInterrupt, so that either stops the stack the way Ctrl-C does.

    SIGTERM: kill, an IDE's stop button. SIGINT is set explicitly too, since a process started in the
    background inherits it ignored (measured under `make run &`).
    """
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def _ensure_demo_data(settings: Settings, console: Console) -> None:
    """The data directory, and in it the demo customer directory unless it is current."""
    from ..sources.demo import generate, is_current

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not is_current(settings.demo_db_path):
        console.print("generating the demo customer directory…")
        generate(settings.demo_db_path)


def _check_web_port(settings: Settings) -> None:
    """DevStackError when the worker's HTTP port is taken already: it would fail later, less clearly."""
    if port_taken(settings.web_port):
        raise DevStackError(
            f"port {settings.web_port} on 127.0.0.1 is taken (a worker from another `make run`?): "
            "stop it, or set WARMLINE_WEB_PORT"
        )


def run_dev(settings: Settings, *, broker_port: int = DEV_BROKER_PORT, console: Console, verbose: bool = False) -> int:
    """Run the stack until Ctrl-C or until the worker exits.

    The worker's output goes to ``<data dir>/worker.log``; the console gets its own notes, its
    warnings and errors, and the ready block (*verbose*: all of it, Faust's INFO records too).
    """
    started = time.monotonic()
    _stop_on_signals()
    _ensure_demo_data(settings, console)
    worker: subprocess.Popen[bytes] | None = None
    output: threading.Thread | None = None
    tansu: Tansu | None = None
    try:
        _check_web_port(settings)
        tansu = Tansu(broker_port or None, log_path=settings.data_dir / "tansu.log")
        tansu.start()
        console.print(f"Tansu broker on {tansu.bootstrap}")
        log_path = settings.data_dir / "worker.log"
        worker, output = _start_worker(settings, tansu.url, log_path, console, verbose)
        base = f"http://{settings.web_host}:{settings.web_port}"
        wait_ready(base, worker)
        console.print(f"\n[bold green]warmline is ready[/] in {time.monotonic() - started:.1f}s at {base}")
        _print_ready(settings, base, tansu.bootstrap, None if verbose else log_path, console)
        return worker.wait()
    except KeyboardInterrupt:
        console.print("stopping…")
        return 0
    except DevStackError as e:
        console.print(f"[red]{e}[/red]")
        if worker is not None and not verbose:
            console.print(f"the worker's whole output: {log_path}")
        return 1
    finally:
        if worker is not None:
            stop_process(worker)
        if output is not None:
            output.join(5)  # the rest of the worker's output (its stop) is written before we exit
        if tansu is not None:
            tansu.stop()
