"""What every JSON answer of the API keeps to: times with their zone, no integer a JavaScript number rounds."""

from __future__ import annotations

import re
from typing import Any

# A date-time anywhere in a string value; its zone (Z or ±hh:mm) must follow.
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?P<zone>Z|[+-]\d{2}:?\d{2})?")
SAFE_INTEGER = 2**53 - 1


def _walk(value: Any, where: str = "$"):  # type: ignore[no-untyped-def]
    yield where, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{where}[{i}]")


def zoneless_times(document: Any) -> list[str]:
    """Every string holding a date-time without its zone, with where it sits."""
    found = []
    for where, value in _walk(document):
        if isinstance(value, str):
            found += [f"{where}: {value!r}" for m in _MOMENT.finditer(value) if not m.group("zone")]
    return found


def unsafe_integers(document: Any) -> list[str]:
    """Every JSON number that is an integer beyond 2^53 (JSON.parse would round it)."""
    return [
        f"{where}: {value}"
        for where, value in _walk(document)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > SAFE_INTEGER
    ]


def assert_json_rules(document: Any) -> None:
    assert not zoneless_times(document), zoneless_times(document)
    assert not unsafe_integers(document), unsafe_integers(document)
