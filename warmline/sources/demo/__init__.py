"""The embedded demo source: a generated SQLite directory with simulated latency."""

from .generate import generate, is_current
from .source import DemoSource

__all__ = ["DemoSource", "generate", "is_current"]
