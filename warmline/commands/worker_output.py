"""A dev worker's output: all of it to a log file, on the console only what a newcomer needs.

Faust logs ~140 lines at INFO while it starts (every service's "Starting...", subscription and
partition tables, recovery offsets) and as many when it stops. `warmline dev` shows the worker's
own start-up notes (the broker profile it applied, topics it created), every warning and error
with its traceback, and keeps Faust's INFO records and their tables in the log file only.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

#: Faust's console format: ``[2026-12-05 05:20:26,638] [15373] [INFO] [^Worker]: Starting...``.
_RECORD = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,.]+\] \[\d+\] \[([A-Z]+)\]")
_QUIET_LEVELS = frozenset({"DEBUG", "INFO"})


class ConsoleFilter:
    """Decides, line by line, what reaches the console.

    A Faust record at DEBUG or INFO is kept off it, and so are the lines that continue it (its
    tables); a record at WARNING or above shows with its continuation (a traceback). Lines before
    the first record are the worker's own notes and show; so does a bare traceback (a crash).
    """

    def __init__(self) -> None:
        self._quiet = False

    def shows(self, line: str) -> bool:
        """Whether *line* (one line of the worker's output) goes to the console."""
        record = _RECORD.match(line)
        if record is not None:
            self._quiet = record.group(1) in _QUIET_LEVELS
        elif line.startswith("Traceback (most recent call last)"):
            self._quiet = False
        return not self._quiet


def pump(stream: IO[bytes], log_path: Path, echo: Callable[[str], None]) -> threading.Thread:
    """Copy *stream* (the worker's stdout and stderr) to *log_path* as it comes, and each line
    ConsoleFilter shows to *echo*, in a daemon thread that ends at EOF; returns the thread."""

    def run() -> None:
        shown = ConsoleFilter()
        with log_path.open("wb") as log:  # this run's output only
            for raw in iter(stream.readline, b""):
                log.write(raw)
                log.flush()  # `tail -f` shows it as it happens
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if shown.shows(line):
                    echo(line)

    thread = threading.Thread(target=run, name="warmline-dev-output", daemon=True)
    thread.start()
    return thread
