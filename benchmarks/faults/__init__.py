"""`make faults`: two workers under steady load while each fault is injected in turn, plus 100k hostile messages."""
