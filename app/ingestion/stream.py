"""Streamed bulk uploads: physical lines of a body, JSON-lines and CSV records, and the upload's report."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from app.errors import InvalidInput, PayloadTooLarge
from app.services.coupons import CouponOutcome

Format = Literal["ndjson", "csv"]

# A longer line is rejected (and skipped) rather than buffered: bounds memory on a file without newlines.
MAX_LINE_BYTES = 1 << 20
# The answer lists at most this many rejected lines; `rejected_total` counts them all.
MAX_REJECTED_LISTED = 1_000
_TOO_LONG = object()  # stands for a line over MAX_LINE_BYTES


@dataclass
class IngestReport:
    """What became of an upload: rows accepted, duplicates skipped, lines rejected (first 1,000 listed), of
    which `conflicts` repeat a stored external id with another body."""

    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected_total: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    coupons_redeemed: int = 0
    coupons_not_redeemed: list[dict[str, Any]] = field(default_factory=list)  # first 1,000: line, code, reason
    coupons_not_redeemed_total: int = 0

    def coupon(self, line: int, outcome: CouponOutcome) -> None:
        if outcome.redeemed:
            self.coupons_redeemed += 1
            return
        self.coupons_not_redeemed_total += 1
        if len(self.coupons_not_redeemed) < MAX_REJECTED_LISTED:
            self.coupons_not_redeemed.append({"line": line, **outcome.public()})

    def reject(self, line: int, error: str) -> None:
        self.rejected_total += 1
        if len(self.rejected) < MAX_REJECTED_LISTED:
            self.rejected.append({"line": line, "error": error})

    @property
    def status_code(self) -> int:
        """200 when some row was good (new or duplicate); when none was, 409 if some row was a conflict,
        else 422 (every row bad, or none at all)."""
        if self.accepted + self.duplicates > 0:
            return 200
        return 409 if self.conflicts else 422

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "rejected_total": self.rejected_total,
            "rejected": self.rejected,
            "rejected_truncated": self.rejected_total > len(self.rejected),
            "lines": self.lines,
            "coupons": {
                "redeemed": self.coupons_redeemed,
                "not_redeemed_total": self.coupons_not_redeemed_total,
                "not_redeemed": sorted(self.coupons_not_redeemed, key=lambda c: c["line"]),
            },
        }
        if self.status_code != 200:
            body["error"] = "conflict" if self.status_code == 409 else "invalid_input"
            body["message"] = (
                f"no row was accepted: {self.rejected_total} of {self.lines} lines rejected"
                if self.rejected_total
                else "the upload holds no rows"
            )
        return body


def body_lines(chunks: Iterable[bytes], max_bytes: int) -> Iterator[Any]:
    """Physical lines of a streamed body (no newline); `_TOO_LONG` stands for a line over MAX_LINE_BYTES."""
    total = 0
    rest = b""
    skipping = False  # inside an over-long line: drop bytes up to its newline
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise PayloadTooLarge(f"the upload exceeds the limit of {max_bytes} bytes (MAX_UPLOAD_BYTES)")
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                continue
            chunk = chunk[cut + 1 :]
            skipping = False
        parts = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
        rest = parts.pop()
        yield from parts
        if len(rest) > MAX_LINE_BYTES:
            yield _TOO_LONG
            rest = b""
            skipping = True
    if rest:
        yield rest


def json_records(lines: Iterator[Any], report: IngestReport) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON value) of each non-blank line; unparsable lines are rejected on the way."""
    for number, line in enumerate(lines, 1):
        report.lines = number
        if line is _TOO_LONG:
            report.reject(number, f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        if not line or line.isspace():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
            report.reject(number, f"not valid JSON: {exc}")


def csv_records(
    lines: Iterator[Any], report: IngestReport, fields: tuple[str, ...], required: tuple[str, ...]
) -> Iterator[tuple[int, Any]]:
    """(line number, {column: text}) of each CSV record after the header line."""
    bad: dict[int, str] = {}

    def text_lines() -> Iterator[str]:
        for number, line in enumerate(lines, 1):
            report.lines = number
            if line is _TOO_LONG:
                bad[number] = f"line longer than {MAX_LINE_BYTES} bytes"
                yield "\n"
                continue
            try:
                yield line.decode("utf-8-sig" if number == 1 else "utf-8") + "\n"
            except UnicodeDecodeError as exc:
                bad[number] = f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
                yield "\n"

    reader = csv.reader(text_lines(), strict=True)
    header: list[str] | None = None
    previous = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start, previous = previous + 1, reader.line_num
            report.reject(start, f"not valid CSV: {exc}")
            continue
        start, previous = previous + 1, reader.line_num
        if not record or (len(record) == 1 and not record[0].strip()):
            if start in bad:
                report.reject(start, bad.pop(start))
            continue
        if header is None:
            if start in bad:
                raise InvalidInput(f"the CSV header (line {start}) is unreadable: {bad[start]}")
            header = [name.strip().lower() for name in record]
            _check_header(header, fields, required)
            continue
        if len(record) != len(header):
            report.reject(start, f"expected {len(header)} fields as in the header, found {len(record)}")
            continue
        yield start, dict(zip(header, record, strict=True))
    if header is None and report.rejected_total == 0:
        raise InvalidInput(f"empty upload: a CSV upload starts with a header line naming {', '.join(fields)}")


def _check_header(header: list[str], fields: tuple[str, ...], required: tuple[str, ...]) -> None:
    optional = ", ".join(f for f in fields if f not in required)
    expected = f"expected columns {', '.join(required)} (optional: {optional})"
    missing = [name for name in required if name not in header]
    unknown = [name for name in header if name not in fields]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if missing or unknown or repeated:
        problems = []
        if missing:
            problems.append(f"lacks column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"has unknown column(s) {', '.join(unknown)}")
        if repeated:
            problems.append(f"repeats column(s) {', '.join(repeated)}")
        raise InvalidInput(f"the CSV header line {' and '.join(problems)}; {expected}")
