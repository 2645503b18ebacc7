"""Key ownership matches Kafka's default partitioner; Spring headers are read and echoed."""

from __future__ import annotations

import struct

from aiokafka.partitioner import DefaultPartitioner

from warmline.agents.kafka_io import SpringReply
from warmline.stream.ownership import owner_partition


def test_owner_partition_matches_the_java_default_partitioner() -> None:
    for i in range(200):
        key = f"phone:+1415555{i:04d}"
        assert owner_partition(key, 8) == DefaultPartitioner()(key.encode(), list(range(8)), list(range(8)))


def test_spring_headers() -> None:
    headers = [
        ("kafka_replyTopic", b"replies"),
        ("kafka_correlationId", b"\x01\x02"),
        ("kafka_replyPartition", struct.pack(">i", 3)),
    ]
    spring = SpringReply.from_headers(headers)
    assert (spring.topic, spring.correlation_id, spring.partition) == ("replies", b"\x01\x02", 3)
    assert spring.reply_headers() == [("kafka_correlationId", b"\x01\x02")]


def test_missing_or_bad_spring_headers_are_ignored() -> None:
    assert SpringReply.from_headers(None) == SpringReply()
    bad = SpringReply.from_headers([("kafka_replyPartition", b"xx"), ("kafka_replyTopic", b"\xff")])
    assert bad.partition is None and bad.topic is None and bad.reply_headers() is None
