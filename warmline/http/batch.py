"""The POST /v1/lookup/batch body."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH = 1000


class BatchItem(BaseModel):
    """One lookup of a batch."""

    model_config = ConfigDict(extra="forbid")
    by: Literal["phone", "email", "customer_id"]
    value: str = Field(min_length=1, max_length=320)


class BatchRequest(BaseModel):
    """``{"lookups": [...], "concurrency": 10}``."""

    model_config = ConfigDict(extra="forbid")
    lookups: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH)
    concurrency: int = Field(default=10, ge=1, le=200)
    timeout_ms: int | None = Field(default=None, ge=1, le=60_000)
