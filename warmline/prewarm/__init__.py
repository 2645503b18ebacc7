"""Pre-warming: bulk warming, VIP lists and their schedule, warm-at-answer tracking."""
