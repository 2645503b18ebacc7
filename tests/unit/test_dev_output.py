"""`warmline dev` keeps Faust's start-up records in the log file and shows what a newcomer needs."""

from __future__ import annotations

import io
from pathlib import Path

from warmline.commands.worker_output import ConsoleFilter, pump

# What a worker prints, abridged from a real `warmline dev` start (two INFO records with tables,
# a warning with its traceback, a crash).
OUTPUT = """\
embedded broker (Tansu) at 127.0.0.1:9092: using WARMLINE_CONSUMER_FETCH_MAX_WAIT_MS=5
topic call-started did not exist: created it with 8 partitions
[2026-12-05 05:20:26,638] [15373] [INFO] [^Worker]: Starting...
[2026-12-05 05:20:26,710] [15373] [INFO] [^--Consumer]: Subscribed to topic(s):
+Final Subscription---------------------+
| call-started                          |
+---------------------------------------+
[2026-12-05 05:20:27,001] [15373] [WARNING] circuit redis is now open
Traceback (most recent call last):
  File "x.py", line 1, in <module>
ConnectionError: refused
[2026-12-05 05:20:30,838] [15373] [INFO] [^---Recovery]: active offsets at start of reading:
| warmline-l1-changelog | 0         | -1     |
[2026-12-05 05:20:31,016] [15373] [INFO] [^Worker]: Ready
Traceback (most recent call last):
  File "warmline/worker.py", line 9, in build
RuntimeError: boom
"""

SHOWN = [
    "embedded broker (Tansu) at 127.0.0.1:9092: using WARMLINE_CONSUMER_FETCH_MAX_WAIT_MS=5",
    "topic call-started did not exist: created it with 8 partitions",
    "[2026-12-05 05:20:27,001] [15373] [WARNING] circuit redis is now open",
    "Traceback (most recent call last):",
    '  File "x.py", line 1, in <module>',
    "ConnectionError: refused",
    "Traceback (most recent call last):",
    '  File "warmline/worker.py", line 9, in build',
    "RuntimeError: boom",
]


def test_the_console_gets_the_notes_warnings_and_crashes_not_faust_s_info_records() -> None:
    shown = ConsoleFilter()
    assert [line for line in OUTPUT.splitlines() if shown.shows(line)] == SHOWN


def test_the_log_file_gets_every_line(tmp_path: Path) -> None:
    echoed: list[str] = []
    log = tmp_path / "worker.log"
    pump(io.BytesIO(OUTPUT.encode()), log, echoed.append).join(10)
    assert log.read_text() == OUTPUT
    assert echoed == SHOWN
