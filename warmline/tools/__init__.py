"""Client-side tools behind the CLI: bulk warm, replay, the call-center simulator."""
