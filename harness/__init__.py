"""What tests, benchmarks and `make faults` start: Tansu, workers, Redis, stunnel, fake Tilores and LangSmith."""
