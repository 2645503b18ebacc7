"""Integration tests share the stack fixtures of tests/conftest.py (Tansu, worker processes)."""

from __future__ import annotations

from ..stack import Cluster, WorkerProcess, eventually, http_get, metric_sum, warmed_on_owner

__all__ = ["Cluster", "WorkerProcess", "eventually", "http_get", "metric_sum", "warmed_on_owner"]
