"""Audit rules for optimistic roots and short brands (settlement), written apart from the epoch job.

- A vetoed root never counts: the auditor's EpochVetoed names the epoch and root it struck, and the
  operator publishes that epoch number again (docs/contracts.md).
- A brand whose unreserved budget cannot pay its purchase cashback is named in the epoch's manifest
  (`shortfalls`); none of that brand's cashback is paid in the epoch, each account's line is carried
  and owed again in the next one (app/services/epochs.py). The audit recomputes what each short brand
  owed and checks that the manifest says so and that the brand's stated budget was indeed short.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar


class _Event(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def args(self) -> dict[str, Any]: ...


E = TypeVar("E", bound=_Event)


def live_publications(events: Iterable[E]) -> list[E]:
    """EpochPublished events whose root was not vetoed afterwards, in chain order."""
    out: list[E] = []
    for e in events:
        if e.name == "EpochPublished":
            out.append(e)
        elif e.name == "EpochVetoed":
            struck = (int(e.args["epoch"]), bytes(e.args["root"]))
            for i in range(len(out) - 1, -1, -1):
                if (int(out[i].args["epoch"]), bytes(out[i].args["root"])) == struck:
                    del out[i]
                    break
    return out


def carry_shortfalls(
    lines: dict[tuple[str, str], list[int]],
    carried_in: dict[tuple[str, str], int],
    shortfalls: Sequence[dict[str, str]],
    fail: Callable[[Any, Any, str], None],
) -> dict[tuple[str, str], int]:
    """Adds the cashback carried into this epoch to `lines` ((account, brand) -> [cashback, access]),
    takes the short brands' cashback out of them, and returns it: what this epoch carries on."""
    for key, amount in carried_in.items():
        if key not in lines:
            lines[key] = [0, 0]
        lines[key][0] += amount
    owed: dict[str, int] = {}
    for (_, brand), (pc, _) in lines.items():
        owed[brand] = owed.get(brand, 0) + pc
    carried: dict[tuple[str, str], int] = {}
    for s in shortfalls:
        brand = s["brand"].lower()
        if int(s["owed"]) != owed.get(brand, 0) or int(s["carried"]) != owed.get(brand, 0):
            fail(
                str(owed.get(brand, 0)),
                s["owed"],
                f"brand {brand} owed {owed.get(brand, 0)} in purchase cashback recomputed; the manifest carries "
                f"{s['carried']} of {s['owed']}",
            )
        if int(s["available"]) >= int(s["owed"]):
            fail(
                f"available < {s['owed']}",
                s["available"],
                f"brand {brand} is named short, but its stated unreserved budget {s['available']} pays its "
                f"cashback {s['owed']}",
            )
        for key, line in lines.items():
            if key[1] == brand and line[0]:
                carried[key] = line[0]
                line[0] = 0
    return carried
