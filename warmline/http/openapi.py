"""GET /openapi.json: the OpenAPI 3.1 document of the HTTP API, written once (wire models from pydantic)."""

from __future__ import annotations

import functools
from typing import Any

import orjson
from aiohttp import web
from faust.web import View
from pydantic.json_schema import models_json_schema

from ..llm.chat import ChatOutput
from ..models import LookupReply
from ..models.protocol import MAX_BODY_BYTES, MAX_PREWARM_BODY_BYTES
from .batch import MAX_BATCH, BatchRequest
from .chat import BatchBody as ChatBody
from .chat import InvokeBody
from .prewarm import PrewarmRequest

OPENAPI_PATH = "/openapi.json"
_REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


_STRING = {"type": "string"}
_LOOKUP_HEADERS = {
    "X-Cache": {"description": "Which tier answered: L1, L2 or MISS (the source).", "schema": _STRING},
    "X-Request-ID": {"description": "The caller's X-Request-ID, else a new one.", "schema": _STRING},
}
_BRIEF_HEADERS = {
    "X-Brief": {
        "description": "Only on a caller brief served by the worker's brief cache: `ready` (prepared before "
        "pick-up) or `made` (made, or waited for, at answer).",
        "schema": {"type": "string", "enum": ["ready", "made"]},
    }
}
_ERROR = _json(_ref("Error"), "An error that is not a lookup outcome.")
_UNAUTHORIZED = _json(_ref("Error"), "Missing or wrong bearer token (WWW-Authenticate: Bearer).")
_ADMIN_DISABLED = _json(_ref("Error"), "Admin routes are disabled: WARMLINE_ADMIN_TOKEN is not set.")
_TOO_LONG = _json(
    _ref("Error"), f"The body is over {MAX_BODY_BYTES:,} bytes ({MAX_PREWARM_BODY_BYTES:,} for /v1/prewarm)."
)
_API_SECURITY: list[dict[str, list[str]]] = [{"apiToken": []}]
_ADMIN_SECURITY: list[dict[str, list[str]]] = [{"adminToken": []}]


def _reply(description: str) -> dict[str, Any]:
    return _json(_ref("LookupReply"), description, _LOOKUP_HEADERS)


def _lookup_responses() -> dict[str, Any]:
    return {
        "200": _reply("Found (`status: ok`)."),
        "400": _reply("Not a valid key or query (`status: invalid`)."),
        "401": _UNAUTHORIZED,
        "404": _reply("No such customer (`status: not_found`)."),
        "502": _reply("The source failed (`status: error`)."),
        "503": _reply("The source or the owning worker is unavailable (`status: unavailable`)."),
        "504": _reply("The source did not answer in time (`status: timeout`)."),
    }


def _query(name: str, schema: dict[str, Any], description: str, example: str | None = None) -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": False, "schema": schema, "description": description}
    if example is not None:
        param["example"] = example
    return param


def _chat_responses(ok: dict[str, Any]) -> dict[str, Any]:
    detail = _json(_ref("ChatProblem"), "The body, or the caller's lookup, cannot be answered.")
    return {
        "200": ok,
        "401": _UNAUTHORIZED,
        "404": detail,
        "413": _TOO_LONG,
        "422": detail,
        "502": detail,
        "503": detail,
        "504": detail,
    }


#: Every documented route, by path and method. A new route (e.g. LangServe's /chat/*) is a new entry here;
#: tests/unit/test_http_openapi.py fails while the registered routes and this table differ.
PATHS: dict[str, dict[str, Any]] = {
    "/v1/lookup": {
        "get": {
            "operationId": "lookup",
            "summary": "One lookup, answered by the key's owning worker.",
            "description": "Give exactly one of `phone`, `email` or `customer_id`.",
            "security": _API_SECURITY,
            "parameters": [
                _query("phone", {"type": "string", "maxLength": 320}, "Any format; E.164 or national.", "+14155550123"),
                _query("email", {"type": "string", "maxLength": 320}, "Case-insensitive.", "ada@example.com"),
                _query("customer_id", {"type": "string", "maxLength": 320}, "The CRM id, e.g. C-000123."),
                _query("max_age_s", {"type": "number", "minimum": 0}, "Refetch entries older than this."),
            ],
            "responses": _lookup_responses(),
        }
    },
    "/v1/lookup/batch": {
        "post": {
            "operationId": "lookupBatch",
            "summary": f"Up to {MAX_BATCH} lookups; results in input order.",
            "security": _API_SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("BatchRequest")}}},
            "responses": {
                "200": _json(_ref("BatchResponse"), "One LookupReply per item, in input order."),
                "400": _reply("The body is not a valid batch (`status: invalid`)."),
                "401": _UNAUTHORIZED,
                "413": _TOO_LONG,
            },
        }
    },
    "/v1/prewarm": {
        "post": {
            "operationId": "prewarm",
            "summary": "Admin: warm keys, named VIP lists, or (`{}`) every VIP list, on the keys' owners.",
            "security": _ADMIN_SECURITY,
            "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("PrewarmRequest")}}},
            "responses": {
                "200": _json(_ref("PrewarmStats"), "Job statistics, summed over the workers."),
                "400": _reply("The body is not valid, or names an unknown VIP list (`status: invalid`)."),
                "401": _UNAUTHORIZED,
                "403": _ADMIN_DISABLED,
                "413": _TOO_LONG,
            },
        }
    },
    "/v1/cache/{key}": {
        "delete": {
            "operationId": "invalidate",
            "summary": "Admin: drop a key from its owner's L1 and from L2.",
            "security": _ADMIN_SECURITY,
            "parameters": [
                {
                    "name": "key",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^(phone|email|customer_id):[^/]+$"},
                    "description": "A lookup key: `phone:+14155550123`, `email:…` or `customer_id:…`.",
                    "example": "customer_id:C-000001",
                }
            ],
            "responses": {
                "200": _json(_ref("Invalidated"), "Dropped (or was not cached)."),
                "400": _reply("Not a valid lookup key (`status: invalid`)."),
                "401": _UNAUTHORIZED,
                "403": _ADMIN_DISABLED,
                "404": _json(_ref("Error"), "No such route: the key contains a '/'."),
                "503": _reply("The owning worker did not answer (`status: unavailable`)."),
            },
        }
    },
    "/v1/events/{platform}": {
        "post": {
            "operationId": "platformEvent",
            "summary": "A contact-center platform's own webhook: warm queued callers, count answers, on their owners.",
            "description": (
                "The body is the platform's event as it sends it (JSON, a JSON array, or form fields), recognised by"
                " the platform's mapping (docs/platforms.md). 202 once every queued or answered call is stored on Kafka"
                " for its owner (an event without the caller's number waits for its call's); a"
                " platform that gets no 2xx retries. Credentials: one of WARMLINE_API_TOKENS as a bearer or as"
                " Basic auth's password; for Twilio, when TWILIO_AUTH_TOKEN is set, X-Twilio-Signature as well."
            ),
            "security": [{"apiToken": []}, {"apiTokenBasic": []}],
            "parameters": [
                {
                    "name": "platform",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 64},
                    "description": "`connect`, `genesys`, `twilio`, or the name in a WARMLINE_EVENT_MAPPINGS file.",
                    "example": "genesys",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {}},
                    "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                },
            },
            "responses": {
                "202": _json(
                    _ref("PlatformEventsAccepted"), "Recognised; each queued or answered call stored for its owner"
                ),
                "400": _reply("Not a call event of this platform warmline recognises (`status: invalid`)."),
                "401": _UNAUTHORIZED,
                "403": _reply("Twilio: missing or wrong X-Twilio-Signature (`status: invalid`)."),
                "404": _reply("No such platform (`status: invalid`)."),
                "413": _TOO_LONG,
                "503": _reply(
                    "Not stored on Kafka in time, or the call registry unreachable (`status: unavailable`); retry."
                ),
            },
        }
    },
    "/v1/stats": {
        "get": {
            "operationId": "stats",
            "summary": "This worker's cache, source, warm-at-answer and VIP figures.",
            "security": _API_SECURITY,
            "responses": {"200": _json(_ref("Stats"), "The figures."), "401": _UNAUTHORIZED},
        }
    },
    "/metrics": {
        "get": {
            "operationId": "metrics",
            "summary": "Prometheus exposition (open).",
            "responses": {"200": {"description": "Text format 0.0.4.", "content": {"text/plain": {"schema": _STRING}}}},
        }
    },
    "/healthz": {
        "get": {
            "operationId": "health",
            "summary": "Liveness (open).",
            "responses": {"200": _json(_ref("Health"), "The process serves HTTP.")},
        }
    },
    "/readyz": {
        "get": {
            "operationId": "ready",
            "summary": "Readiness: partitions assigned, table recovered, not rebalancing (open).",
            "responses": {
                "200": _json(_ref("Readiness"), "Ready."),
                "503": _json(_ref("Readiness"), "Not ready yet (starting, recovering or rebalancing)."),
            },
        }
    },
    "/chat/invoke": {
        "post": {
            "operationId": "chatInvoke",
            "summary": "LangServe invoke: answer a question about a caller (a brief when no model is set).",
            "security": _API_SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("InvokeBody")}}},
            "responses": _chat_responses(
                _json(_ref("ChatInvokeResponse"), "The answer and the record behind it.", headers=_BRIEF_HEADERS)
            ),
        }
    },
    "/chat/batch": {
        "post": {
            "operationId": "chatBatch",
            "summary": "LangServe batch: several questions, answers in input order.",
            "security": _API_SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("BatchBody")}}},
            "responses": _chat_responses(_json(_ref("ChatBatchResponse"), "One answer per input, in input order.")),
        }
    },
    "/chat/stream": {
        "post": {
            "operationId": "chatStream",
            "summary": "LangServe stream: server-sent events `metadata`, `data` (chunks), then `end` or `error`.",
            "security": _API_SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("InvokeBody")}}},
            "responses": _chat_responses(
                {"description": "The event stream.", "content": {"text/event-stream": {"schema": _ref("ChatEvent")}}}
            ),
        }
    },
    **{
        f"/chat/{name}": {
            "get": {
                "operationId": "chat" + "".join(part.title() for part in name.split("_")),
                "summary": f"LangServe {name.replace('_', ' ')} (JSON Schema).",
                "security": _API_SECURITY,
                "responses": {"200": _json({"type": "object"}, "A JSON Schema."), "401": _UNAUTHORIZED},
            }
        }
        for name in ("input_schema", "output_schema", "config_schema")
    },
    OPENAPI_PATH: {
        "get": {
            "operationId": "openapi",
            "summary": "This document (open).",
            "responses": {"200": _json({"type": "object"}, "The OpenAPI 3.1 document.")},
        }
    },
}

_NULLABLE_NUMBER = {"type": ["number", "null"]}
_COUNT = {"type": "integer", "minimum": 0}
_PERCENTILES = {
    "type": "object",
    "properties": {"p50": _NULLABLE_NUMBER, "p99": _NULLABLE_NUMBER},
    "required": ["p50", "p99"],
}

#: Response bodies that are not wire models.
SCHEMAS: dict[str, dict[str, Any]] = {
    "ChatEvent": {
        "type": "object",
        "description": "One server-sent event: `data` is JSON text (absent on `end`).",
        "properties": {"event": {"enum": ["metadata", "data", "end", "error"]}, "data": _STRING},
        "required": ["event"],
    },
    "ChatProblem": {"type": "object", "properties": {"detail": {}}, "required": ["detail"]},
    "ChatInvokeResponse": {
        "type": "object",
        "properties": {"output": _ref("ChatOutput"), "metadata": {"type": "object"}},
        "required": ["output", "metadata"],
    },
    "ChatBatchResponse": {
        "type": "object",
        "properties": {"output": {"type": "array", "items": _ref("ChatOutput")}, "metadata": {"type": "object"}},
        "required": ["output", "metadata"],
    },
    "Error": {
        "type": "object",
        "properties": {"error": _STRING},
        "required": ["error"],
    },
    "BatchResponse": {
        "type": "object",
        "properties": {"results": {"type": "array", "items": _ref("LookupReply")}, "count": _COUNT},
        "required": ["results", "count"],
        "additionalProperties": False,
    },
    "PrewarmStats": {
        "type": "object",
        "properties": {
            "total": _COUNT,
            "warmed": _COUNT,
            "already_fresh": _COUNT,
            "not_found": _COUNT,
            "failed": _COUNT,
            "invalid": _COUNT,
            "duration_s": {"type": "number", "minimum": 0},
            "p50_ms": _NULLABLE_NUMBER,
            "p99_ms": _NULLABLE_NUMBER,
            "workers": _COUNT,
        },
        "required": ["total", "warmed", "already_fresh", "not_found", "failed", "invalid", "duration_s"],
    },
    "WarmJobs": {
        "type": "object",
        "properties": {"runs": _COUNT, "last_job": {"type": ["object", "null"]}},
        "required": ["runs", "last_job"],
    },
    "PlatformEventsAccepted": {
        "type": "object",
        "required": ["accepted"],
        "properties": {
            "accepted": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["call_id", "kind", "outcome"],
                    "properties": {
                        "call_id": {"type": "string"},
                        "kind": {"type": "string", "enum": ["queued", "answered", "ended"]},
                        "outcome": {
                            "type": "string",
                            "enum": [
                                "queued",
                                "answered",
                                "ended",
                                "waiting_for_caller",
                                "queued_without_caller",
                                "invalid_caller",
                            ],
                        },
                    },
                },
            }
        },
    },
    "Invalidated": {
        "type": "object",
        "properties": {"invalidated": _STRING, "l1_held": {"type": "boolean"}},
        "required": ["invalidated", "l1_held"],
        "additionalProperties": False,
    },
    "Health": {
        "type": "object",
        "properties": {"status": {"const": "ok"}},
        "required": ["status"],
        "additionalProperties": False,
    },
    "Readiness": {
        "type": "object",
        "properties": {
            "ready": {"type": "boolean"},
            "recovered": {"type": "boolean"},
            "rebalancing": {"type": "boolean"},
            "l1_partitions": {"type": "array", "items": _COUNT},
        },
        "required": ["ready", "recovered", "rebalancing", "l1_partitions"],
        "additionalProperties": False,
    },
    "Stats": {
        "type": "object",
        "properties": {
            "worker": _STRING,
            "cache": {
                "type": "object",
                "properties": {
                    "hits": {"type": "object", "properties": {"l1": _COUNT, "l2": _COUNT}, "required": ["l1", "l2"]},
                    "misses": _COUNT,
                    "hit_ratio": _NULLABLE_NUMBER,
                    "stale_served": _COUNT,
                    "coalesced": _COUNT,
                    "upstream_calls": _COUNT,
                    "upstream_ms": _PERCENTILES,
                    "l2_errors": _COUNT,
                },
                "required": ["hits", "misses", "hit_ratio"],
            },
            "l1": {
                "type": "object",
                "properties": {"entries": _COUNT, "evictions": _COUNT},
                "required": ["entries", "evictions"],
            },
            "source": {
                "type": "object",
                "properties": {
                    "name": _STRING,
                    "calls": _COUNT,
                    "failures": {"type": "object", "additionalProperties": _COUNT, "description": "By kind."},
                    "waiting": _COUNT,
                    "breaker": {"enum": ["closed", "open", "half_open"]},
                },
                "required": ["name", "calls", "failures", "breaker"],
            },
            "warm_at_answer": {
                "type": "object",
                "properties": {
                    "answered": _COUNT,
                    "answered_warm": _COUNT,
                    "warm_at_answer_ratio": _NULLABLE_NUMBER,
                    "time_to_warm_ms": _PERCENTILES,
                    "platforms": {
                        "type": "object",
                        "description": "Per platform, from its answered events (docs/platforms.md).",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {
                                "answered": _COUNT,
                                "warm": {
                                    "type": "object",
                                    "properties": {"l1": _COUNT, "l2": _COUNT, "cold": _COUNT},
                                    "required": ["l1", "l2", "cold"],
                                },
                                "warm_at_answer_ratio": _NULLABLE_NUMBER,
                                "answered_before_queued": _COUNT,
                                "brief_ready_at_answer_ratio": _NULLABLE_NUMBER,
                                "repeated_answers": _COUNT,
                                "queue_wait_ms": _PERCENTILES,
                                "queued_to_warm_ms": _PERCENTILES,
                                "queues": {"type": "object", "description": "answered and l1, per queue."},
                            },
                            "required": ["answered", "warm", "warm_at_answer_ratio"],
                        },
                    },
                },
                "required": ["answered", "answered_warm", "warm_at_answer_ratio"],
            },
            "vip": {
                "type": "object",
                "description": "The VIP schedule's warm jobs on this worker (not admin or replay warms).",
                "properties": {
                    "runs": _COUNT,
                    "last_job": {"type": ["object", "null"]},
                    "lists": _COUNT,
                },
                "required": ["runs", "last_job", "lists"],
            },
            "l2": {
                "type": "object",
                "properties": {"enabled": {"type": "boolean"}, "breaker": {"type": ["string", "null"]}},
                "required": ["enabled", "breaker"],
            },
            "warm_jobs": {
                "type": "object",
                "description": "POST /v1/prewarm jobs run here, by origin (admin; replay), apart from the VIP runs.",
                "properties": {"admin": _ref("WarmJobs"), "replay": _ref("WarmJobs")},
                "required": ["admin", "replay"],
            },
            "briefs": {"type": ["object", "null"], "description": "Caller briefs prepared and ready at answer."},
        },
        "required": ["worker", "cache", "l1", "source", "warm_at_answer", "vip", "l2", "warm_jobs"],
    },
}


def _model_schemas() -> dict[str, Any]:
    """The wire models' JSON Schemas (2020-12, as OpenAPI 3.1 uses), referenced from components."""
    _, top = models_json_schema(
        [
            (LookupReply, "serialization"),
            (BatchRequest, "validation"),
            (PrewarmRequest, "validation"),
            (InvokeBody, "validation"),
            (ChatBody, "validation"),
            (ChatOutput, "serialization"),
        ],
        ref_template=_REF,
    )
    defs: dict[str, Any] = top["$defs"]
    return defs


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built on first use)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "warmline",
            "version": "1",
            "description": (
                "Pre-warmed caller lookups. Read routes need `Authorization: Bearer <one of WARMLINE_API_TOKENS>`"
                " when that variable is set; admin routes always need WARMLINE_ADMIN_TOKEN."
            ),
        },
        "paths": PATHS,
        "components": {
            "schemas": {**_model_schemas(), **SCHEMAS},
            "securitySchemes": {
                "apiToken": {"type": "http", "scheme": "bearer", "description": "One of WARMLINE_API_TOKENS."},
                "adminToken": {"type": "http", "scheme": "bearer", "description": "WARMLINE_ADMIN_TOKEN."},
                "apiTokenBasic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "Any user name, one of WARMLINE_API_TOKENS as the password (platform webhooks).",
                },
            },
        },
    }


@functools.cache
def document_bytes() -> bytes:
    """The document as served."""
    return orjson.dumps(document())


def register(app: Any) -> None:
    """Attach GET /openapi.json."""

    @app.page(OPENAPI_PATH)
    class OpenApiView(View):
        async def get(self, request: web.Request) -> web.Response:
            return web.Response(body=document_bytes(), content_type="application/json")
