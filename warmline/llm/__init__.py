"""The LLM edge (docs/llm.md): LangSmith tracing, the lookup_caller tool, /chat and caller briefs."""

from .tool import lookup_tool
from .tracing import TraceParent, trace_parent

__all__ = ["TraceParent", "lookup_tool", "trace_parent"]
