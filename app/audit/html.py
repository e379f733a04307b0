"""The audit report as one self-contained HTML page: verdicts, figures as tables and inline SVG bars, no CDN."""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from typing import Any

_COLOURS = ("#3b6fd8", "#e0a526", "#1f7a3f", "#9b59b6")

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1d2330;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde}
.verdict{display:inline-block;padding:.25rem .7rem;border-radius:4px;font-weight:600;color:#fff}
.ok{background:#1f7a3f}.failed{background:#b3261e}.muted{color:#667}
table{border-collapse:collapse;margin:.6rem 0;width:100%}th,td{border:1px solid #dde;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f3f4f8}td.n{text-align:right;font-variant-numeric:tabular-nums;
font-family:ui-monospace,monospace}code,.mono{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
pre{background:#f6f7fa;padding:.5rem;overflow-x:auto;font-size:12px;white-space:pre-wrap;word-break:break-all}
""" + "".join(f".legend .c{i}{{background:{colour}}}" for i, colour in enumerate(_COLOURS))  # no style= attributes

# The pages' Content-Security-Policy allows this one inline stylesheet by its hash (no style attributes).
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()


def render_html(report: dict[str, Any]) -> str:
    """The whole page for one report (the JSON report rendered; nothing fetched from elsewhere)."""
    chain = report.get("chain", {})
    verdict = "ok" if report.get("ok") else "failed"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>Audit report {escape(str(report.get('generated_at', '')))}</title><style>{_CSS}</style></head><body>",
        "<h1>Ledger audit report</h1>",
        f"<p><span class='verdict {verdict}'>{'ALL CHECKS HOLD' if report.get('ok') else 'DISCREPANCIES FOUND'}</span>"
        f" <span class='muted'>generated {escape(str(report.get('generated_at', '')))}; chain "
        f"{escape(str(chain.get('chain_id')))} audited at block {escape(str(chain.get('audited_block')))} "
        f"(contracts deployed at block {escape(str(chain.get('deployment_block')))}); "
        f"{report.get('discrepancies', 0)} discrepancies</span></p>",
        _table(
            ["check", "status", "summary"],
            [
                [escape(c["title"]), f"<span class='verdict {c['status']}'>{c['status']}</span>", escape(c["summary"])]
                for c in report.get("checks", [])
            ],
        ),
        _table(
            ["contract", "address"],
            [
                [name, f"<code>{escape(str(chain.get(name, '')))}</code>"]
                for name in ("token", "registry", "distributor", "vault")
            ],
        ),
    ]
    for check in report.get("checks", []):
        parts.append(
            f"<h2>{escape(check['title'])} <span class='verdict {check['status']}'>{check['status']}</span></h2>"
        )
        parts.append(_FIGURES.get(check["check"], _plain_figures)(check.get("figures", {})))
        if check["discrepancies"]:
            parts.append(_discrepancies(check["discrepancies"]))
    parts.append(
        f"<p class='muted'>Rules hash <code>{escape(str(report.get('rules_hash', '')))}</code>. "
        "The JSON report beside this page holds every figure and discrepancy in full.</p></body></html>"
    )
    return "\n".join(parts)


def _table(header: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td class='n'>{v}</td>" if i in numeric else f"<td>{v}</td>" for i, v in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _num(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _bars(rows: list[tuple[str, list[int]]], series: list[str], *, width: int = 640) -> str:
    """Horizontal stacked bars, one per row, scaled to the largest row; with a legend."""
    if not rows:
        return ""
    biggest = max((sum(values) for _, values in rows), default=0) or 1
    label_w, bar_h, gap = 160, 18, 6
    height = len(rows) * (bar_h + gap) + gap
    shapes = []
    for i, (label, values) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        shapes.append(
            f"<text x='{label_w - 6}' y='{y + 13}' text-anchor='end' font-size='11'>{escape(label[:24])}</text>"
        )
        x = float(label_w)
        for j, value in enumerate(values):
            w = (width - label_w - 10) * value / biggest
            if w > 0:
                shapes.append(
                    f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='{bar_h}' fill='{_COLOURS[j % len(_COLOURS)]}'>"
                    f"<title>{escape(series[j])}: {value}</title></rect>"
                )
                x += w
    legend = "".join(f"<span class='c{j % len(_COLOURS)}'></span>{escape(name)}" for j, name in enumerate(series))
    return (
        f"<svg role='img' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
        f"xmlns='http://www.w3.org/2000/svg'>{''.join(shapes)}</svg><div class='legend muted'>{legend}</div>"
    )


def _plain_figures(figures: dict[str, Any]) -> str:
    rows = [[escape(k), escape(str(v))] for k, v in figures.items() if not isinstance(v, list | dict)]
    return _table(["figure", "value"], rows, numeric={1}) if rows else ""


def _consent_figures(figures: dict[str, Any]) -> str:
    return _plain_figures(figures)


def _epoch_figures(figures: dict[str, Any]) -> str:
    epochs = figures.get("epochs", [])
    rows = [
        [
            str(e["epoch"]),
            str(e["block"]),
            escape(str(e["as_of"])),
            str(e["purchases"]),
            str(e["accounts"]),
            str(e["purchase_cashback"]),
            str(e["access_earnings"]),
            str(e["total"]),
            "yes" if e["reproduced"] else "<b>no</b>",
        ]
        for e in epochs
    ]
    table = _table(
        [
            "epoch",
            "block",
            "as of",
            "purchases",
            "accounts",
            "purchase cashback",
            "access earnings",
            "total",
            "reproduced",
        ],
        rows,
        numeric={0, 1, 3, 4, 5, 6, 7},
    )
    bars = _bars(
        [(f"epoch {e['epoch']}", [_num(e["purchase_cashback"]), _num(e["access_earnings"])]) for e in epochs],
        ["purchase cashback", "access earnings"],
    )
    extra = _plain_figures({k: v for k, v in figures.items() if k != "epochs"})
    return table + bars + extra


def _money_figures(figures: dict[str, Any]) -> str:
    brands = figures.get("brands", [])
    table = _table(
        ["brand", "deposited", "withdrawn", "debited by epochs", "remaining budget"],
        [
            [
                f"<code>{escape(b['brand'])}</code>",
                str(b["deposited"]),
                str(b["withdrawn"]),
                str(b["debited"]),
                str(b["remaining"]),
            ]
            for b in brands
        ],
        numeric={1, 2, 3, 4},
    )
    bars = _bars(
        [(b["brand"][:10] + "…", [_num(b["withdrawn"]), _num(b["debited"]), _num(b["remaining"])]) for b in brands],
        ["withdrawn", "debited", "remaining"],
    )
    totals = _bars(
        [("published totals", [_num(figures.get("claimed")), _num(figures.get("claimable"))])],
        ["claimed", "claimable"],
    )
    return table + bars + totals + _plain_figures({k: v for k, v in figures.items() if k != "brands"})


def _mirror_figures(figures: dict[str, Any]) -> str:
    tables = figures.get("tables", [])
    out = _table(
        ["table", "rows in the mirror", "rows re-indexed from the chain"],
        [[escape(t["table"]), str(t["mirror"]), str(t["chain"])] for t in tables],
        numeric={1, 2},
    )
    return out + f"<p class='muted'>mirror indexed to block {escape(str(figures.get('indexed_block')))}</p>"


_FIGURES = {
    "consent": _consent_figures,
    "epoch_root": _epoch_figures,
    "money": _money_figures,
    "mirror": _mirror_figures,
}


def _discrepancies(items: list[dict[str, Any]]) -> str:
    rows = []
    for d in items:
        rows.append(
            [
                escape(str(d.get("epoch", ""))),
                f"<pre>{escape(json.dumps(d.get('record'), indent=1))}</pre>",
                f"<span class='mono'>{escape(json.dumps(d.get('expected')))}</span>",
                f"<span class='mono'>{escape(json.dumps(d.get('found')))}</span>",
                escape(str(d.get("evidence", ""))),
            ]
        )
    return "<h3>Discrepancies</h3>" + _table(["epoch", "record", "expected", "found", "evidence"], rows)
