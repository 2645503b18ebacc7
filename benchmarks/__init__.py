"""warmline benchmarks: `make bench` (python -m benchmarks) → table, JSON and PNG in benchmarks/results/."""
