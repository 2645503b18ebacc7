"""What the garbage-collector tuning buys (``WARMLINE_GC_FREEZE``, warmline/gc_pauses.py): a burst A/B.

``python -m benchmarks.gc_freeze [--rate R] [--burst-s S] [--rounds N]`` is
``python -m benchmarks.setting_ab gc-freeze``: fresh stacks with the tuning on and off taking turns
(see ``setting_ab.py``); it writes ``benchmarks/results/gc-freeze.json``.
"""

from __future__ import annotations

from .setting_ab import cli

if __name__ == "__main__":
    cli("gc-freeze")
