"""The LangSmith sender process (``python -m warmline.llm.trace_sender``), fed by trace_process.SenderProcess."""

from __future__ import annotations

import pickle
import sys

import orjson

from .trace_process import read_frame


def main() -> int:
    """Read frames from stdin until EOF; post records through a thread-mode LangSmithTracer."""
    from langsmith import Client

    from .masking import mask, scrub_text
    from .tracing import LangSmithTracer

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    first = read_frame(stdin)
    if first is None or first[0] != b"C":
        return 2
    config = orjson.loads(first[1])
    client = Client(
        api_url=config["endpoint"],
        api_key=config["api_key"],
        auto_batch_tracing=False,  # the tracer's own thread batches; the SDK's would drain for minutes at exit
        omit_traced_runtime_info=True,
        timeout_ms=(2000, 5000),
    )
    masked = bool(config["masked"])
    tracer = LangSmithTracer(
        client,
        project=config["project"],
        worker=config["worker"],
        scrub_errors=scrub_text if masked else None,
        masker=mask if masked else None,
    )
    while (frame := read_frame(stdin)) is not None:
        kind, body = frame
        if kind == b"R":
            tracer.enqueue(pickle.loads(body))  # noqa: S301  # written by our own worker over a private pipe
        elif kind == b"F":
            ok = tracer.flush(float(body))
            stdout.write(f"{int(ok)} {tracer.sent} {tracer.failed} {tracer.dropped}\n".encode())
            stdout.flush()
    return 0  # EOF: the worker closed the pipe or died; the daemon sender thread ends with us


if __name__ == "__main__":
    sys.exit(main())
