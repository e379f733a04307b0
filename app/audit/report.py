"""The audit report: checks, their discrepancies, and the stored JSON and HTML reports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import clock
from app.config import Settings

REPORT_VERSION = 1
OK, FAILED = "ok", "failed"


@dataclass
class Discrepancy:
    """One thing that does not hold, with the record it concerns and the evidence."""

    check: str
    record: Any
    expected: Any
    found: Any
    evidence: str
    epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check}
        if self.epoch is not None:
            out["epoch"] = self.epoch
        out |= {
            "record": jsonable(self.record),
            "expected": jsonable(self.expected),
            "found": jsonable(self.found),
            "evidence": self.evidence,
        }
        return out


@dataclass
class CheckResult:
    """One of the checks: its verdict, its figures and what failed."""

    name: str
    title: str
    summary: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def status(self) -> str:
        return OK if not self.discrepancies else FAILED

    def fail(self, record: Any, expected: Any, found: Any, evidence: str, *, epoch: int | None = None) -> None:
        self.discrepancies.append(Discrepancy(self.name, record, expected, found, evidence, epoch))

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
            "figures": jsonable(self.figures),
            "discrepancies": [d.to_dict() for d in self.discrepancies],
        }


def jsonable(value: Any) -> Any:
    """JSON-safe: amounts above 2^53 as strings, datetimes as UTC ISO, bytes as 0x-hex."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def reports_dir(settings: Settings) -> Path:
    return settings.data_dir / "audit"


def write_report(report: dict[str, Any], directory: Path) -> Path:
    """Writes the JSON report and its HTML page; returns the JSON file's path."""
    from app.audit.html import render_html

    directory.mkdir(parents=True, exist_ok=True)
    stamp = clock.utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"{stamp}.json"
    for target, text in ((path, json.dumps(report, indent=2)), (path.with_suffix(".html"), render_html(report))):
        part = target.with_suffix(target.suffix + ".part")
        part.write_text(text, encoding="utf-8")
        part.replace(target)
    return path


def latest_report(directory: Path) -> tuple[dict[str, Any], Path] | None:
    """The newest stored report and its path, or None."""
    found = sorted(directory.glob("*.json")) if directory.is_dir() else []
    if not found:
        return None
    return json.loads(found[-1].read_text(encoding="utf-8")), found[-1]
