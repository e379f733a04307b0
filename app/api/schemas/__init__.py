"""Types every API model shares: amounts as JSON strings, addresses, zoned times, bounded ids, error bodies.

Each resource's request and response models live beside this module (`app/api/schemas/<resource>.py`,
`XPublic` classes); routes map service results with `XPublic.model_validate(obj, from_attributes=True)`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, PlainSerializer, Strict, WithJsonSchema

from app import clock
from app.api.deps import get_gateway, get_principal
from app.domain import Purpose, category_names

# -- integers ------------------------------------------------------------------------------------

INT64_MAX = 2**63 - 1
"""SQLite's (and PostgreSQL's BIGINT) largest integer: ids, blocks and offsets beyond it cannot be looked up."""

UINT256_MAX = 2**256 - 1
SAFE_BITS = 53  # a JavaScript number holds integers below 2^53 exactly
_DECIMAL = re.compile(r"^[0-9]{1,78}$")


def _decimal_in(value: Any) -> Any:
    if isinstance(value, str):
        if not _DECIMAL.match(value):
            raise ValueError('must be a non-negative integer as decimal digits, e.g. "2000000000000000000"')
        return int(value)
    return value


DECIMAL_INPUT = {
    "anyOf": [{"type": "string", "pattern": _DECIMAL.pattern}, {"type": "integer", "minimum": 0}],
    "description": "A non-negative integer: decimal digits in a string (or a JSON integer)",
}
"""What a wide integer may be on input (its bound is in the type; JSON Schema writes bounds as floats)."""

DecimalInt = Annotated[
    int,
    BeforeValidator(_decimal_in),
    Strict(),  # after the string is read: no floats, no booleans
    Field(ge=0, le=UINT256_MAX),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": _DECIMAL.pattern, "description": "A non-negative integer as decimal digits"},
        mode="serialization",
    ),
    WithJsonSchema(DECIMAL_INPUT, mode="validation"),
]
"""A uint up to 256 bits: a decimal string in every response (JSON numbers lose digits past 2^53 in most
clients), a decimal string or an integer on input."""

Amount = Annotated[DecimalInt, Field(description="CASH smallest units (18 decimals) as decimal digits")]
"""A token amount, balance or budget: a decimal string in JSON, never a float."""

ChainAddress = Annotated[str, Field(description="A 0x-prefixed 20-byte address")]
"""An address as the chain or the mirror holds it (responses; requests validate with app.models.types.Address)."""

Hash32 = Annotated[str, Field(description="A 0x-prefixed 32-byte hash")]
"""A transaction hash, a block hash, a root or a receipt hash."""

Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""A row id (brand, key, token, epoch number)."""

MAX_OFFSET = 10**9
"""Rows a page may skip: far more than any table here holds, far below the database's limit."""


_UINT = re.compile(r"^u?int(\d*)$")


def _eip712_json(types: dict[str, list[dict[str, str]]], kind: str, value: Any) -> Any:
    if kind.endswith("]"):
        return [_eip712_json(types, kind[: kind.rindex("[")], v) for v in value]
    if kind in types:
        return {f["name"]: _eip712_json(types, f["type"], value[f["name"]]) for f in types[kind] if f["name"] in value}
    bits = _UINT.match(kind)
    if bits and isinstance(value, int) and int(bits.group(1) or 256) > SAFE_BITS:
        return str(value)
    return value


def eip712_json(document: dict[str, Any]) -> dict[str, Any]:
    """A typed-data document with every integer of more than 53 bits (by its declared EIP-712 type) as a
    decimal string, so that a standard wallet signs it exactly as `JSON.parse` gives it."""
    types = document["types"]
    return {
        **document,
        "domain": _eip712_json(types, "EIP712Domain", document["domain"]),
        "message": _eip712_json(types, document["primaryType"], document["message"]),
    }


TypedDataDocument = Annotated[dict[str, Any], PlainSerializer(eip712_json, return_type=dict, when_used="json")]
"""An EIP-712 document (eth_signTypedData_v4 shape) whose wide integers are strings in JSON."""


# -- the domain's vocabulary --------------------------------------------------------------------


def _purpose_label(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        # A purpose the chain holds but this release does not name is shown by its number.
        return Purpose(value).name.lower() if value in Purpose._value2member_map_ else str(value)
    return value


def _category_labels(value: Any) -> Any:
    return category_names(value) if isinstance(value, int) and not isinstance(value, bool) else value


PurposeLabel = Annotated[str, BeforeValidator(_purpose_label), Field(description="marketing, personalisation, ...")]
"""A purpose by its name (the chain's uint8 read into the domain's word)."""

CategoryLabels = Annotated[list[str], BeforeValidator(_category_labels)]
"""Data categories by name (the chain's uint64 bitmask read into the domain's words)."""


class Merged:
    """Several objects read as one by attribute, for `XPublic.model_validate(Merged(...), from_attributes=True)`:
    keyword values first, then each source in order (the first that has the attribute wins)."""

    def __init__(self, *sources: Any, **values: Any) -> None:
        self._sources = sources
        self._values = values

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._values:
            return self._values[name]
        for source in self._sources:
            if hasattr(source, name):
                return getattr(source, name)
        raise AttributeError(name)


# -- times ---------------------------------------------------------------------------------------


_LATEST_SECONDS = int(datetime.max.replace(tzinfo=UTC).timestamp())


def _from_seconds(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):  # Unix seconds, as the chain keeps them
        # A uint40 expiry can lie past year 9999: shown as the last representable second.
        return clock.from_unix(min(value, _LATEST_SECONDS))
    return value


Timestamp = Annotated[datetime, AfterValidator(clock.as_utc), BeforeValidator(_from_seconds)]
"""A moment in every response: RFC 3339 in UTC with its zone (`2026-05-01T00:00:00Z`), never a bare local time."""


def _zero_is_none(value: Any) -> Any:
    return None if value == 0 and not isinstance(value, bool) else value


ChainSeconds = Annotated[Timestamp | None, BeforeValidator(_zero_is_none)]
"""A time the chain keeps in Unix seconds where 0 means "none" (no expiry, not granted): None in JSON then."""


def _zoned_input(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return clock.parse_rfc3339(value)
        except ValueError as exc:
            raise ValueError(f"{exc} (+ as %2B in a URL)") from None
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"{value.isoformat()} has no timezone; add Z or an offset such as +09:00")
    return value


ZonedTime = Annotated[datetime, BeforeValidator(_zoned_input)]
"""A moment on input with its timezone; naive times are refused rather than guessed."""


# -- errors --------------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    """What every refusal answers (app.main's handlers write it)."""

    error: str = Field(description="A stable code: not_found, invalid_input, chain_refused, ...")
    message: str = Field(description="What was wrong, in words")
    detail: Any = Field(default=None, description="Context, e.g. the contract's error and its arguments")


class Problem(BaseModel):
    where: str = Field(description="The parameter, e.g. `query.offset` or `body.price`")
    problem: str


class InvalidInputBody(ErrorBody):
    detail: list[Problem] | dict[str, Any] | None = Field(
        default=None, description="Each parameter refused and why (request validation)"
    )


_ERRORS: dict[int, tuple[str, type[BaseModel]]] = {
    400: ("Refused: a body that is not JSON, a signature that is not the caller's or one that expired", ErrorBody),
    401: ("No credentials, or ones that are unknown, revoked or expired", ErrorBody),
    402: ("The brand's budget cannot pay for this", ErrorBody),
    403: ("Signed in, but this route is for another role (or consent does not cover it)", ErrorBody),
    404: ("No such resource for this caller", ErrorBody),
    409: ("Conflicts with the current state (e.g. the contract refused it)", ErrorBody),
    413: ("The request body is too large", ErrorBody),
    415: ("The body is not in a media type this route reads", ErrorBody),
    422: ("A parameter or the body is invalid; `detail` names each and why", InvalidInputBody),
    429: ("Too many requests from this client or identity; retry after `Retry-After` seconds", ErrorBody),
    503: ("The chain does not answer (or serves another chain); retry after `Retry-After` seconds", ErrorBody),
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}, "required": True}}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with its real body."""
    return {
        code: {"description": _ERRORS[code][0], "model": _ERRORS[code][1]}
        | ({"headers": _RETRY_AFTER} if code in (429, 503) else {})
        for code in codes
    }


class DocumentedRoute(APIRoute):
    """A route whose OpenAPI entry also lists the errors its dependencies and parameters can answer: 401/403
    when it authenticates, 503 when it uses the chain, 422 when it takes parameters, 413 with a body."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        calls, params, body = set(), False, "requestBody" in (kwargs.get("openapi_extra") or {})
        stack = [get_dependant(path=path, call=endpoint)]
        while stack:
            dependant = stack.pop()
            calls.add(dependant.call)
            params = params or bool(dependant.query_params or dependant.path_params)
            body = body or bool(dependant.body_params)
            stack.extend(dependant.dependencies)
        codes = [429]  # every route is rate-limited (app/api/limits.py)
        if get_principal in calls:
            codes += [401, 403]
        if get_gateway in calls:
            codes.append(503)
        if body or params:
            codes.append(422)
        if body:
            codes += [400, 413]  # 400: a body that is not JSON at all
        documented = errors(*codes) | (kwargs.get("responses") or {})
        answer = kwargs.get("response_class")
        if getattr(getattr(answer, "value", answer), "media_type", "application/json") != "application/json":
            # A page's refusals are JSON all the same; FastAPI would list a model under the page's media type.
            documented = {code: _as_json(response) for code, response in documented.items()}
        kwargs["responses"] = documented
        super().__init__(path, endpoint, **kwargs)


def _as_json(response: dict[str, Any]) -> dict[str, Any]:
    model = response.get("model")
    if model is None:
        return response
    reference = {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
    return {k: v for k, v in response.items() if k != "model"} | {"content": {"application/json": reference}}
