"""Kafka plumbing under the Faust app: the topic plan, metadata that stays complete, the broker profile."""
