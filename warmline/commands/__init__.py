"""The CLI's front ends: dev (the embedded stack), lookup, warm, replay, simulate, and how they reach a worker."""
