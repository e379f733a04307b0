// The brand console's earning rules: the programme's bounds, every version with its effective epoch, and a form
// for a new version (extra bps per category and tier); a refusal lists each offending row in the server's words.

import { $, busy, el, explain, fill, notify, plural, table } from "./common.js";

const view = { call: null, bounds: null };

export function initEarning(call) {
  view.call = call;
  const form = $("#earning-form");
  if (!form.dataset.wired) {
    form.dataset.wired = "true";
    $("#earning-add").addEventListener("click", () => addRow());
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      busy($("#earning-submit"), null, submitVersion);
    });
  }
  return loadEarning();
}

const STATUS = { in_force: "ok", pending: "warn", superseded: "neutral" };

function rowsText(rows) {
  return rows.length ? rows.map((r) => `${r.category} · ${r.tier}: +${r.extra_bps} bps`).join("; ") : "no extras";
}

async function loadEarning() {
  try {
    const rules = await view.call("/brands/me/earning-rules");
    view.bounds = rules.bounds;
    const b = rules.bounds;
    fill("#earning-body",
      el("p", { class: "small muted", id: "earning-bounds" },
        `The programme lets you add 1 to ${b.max_extra_bps} bps per category and tier, `,
        `up to ${b.max_total_bps} bps with the tier's own rate (${b.tiers.map((t) => `${t.name} ${t.cashback_bps}`).join(", ")} bps), `,
        `at most ${plural(b.max_rows, "row")}. A new version applies from epoch ${rules.next_effective_epoch}.`),
      table(
        [{ label: "Version", class: "num" }, { label: "From epoch", class: "num" }, "Status", "Extras"],
        rules.history.map((v) => el("tr", { "data-version": String(v.version) },
          el("td", { class: "num" }, String(v.version)),
          el("td", { class: "num" }, String(v.effective_epoch)),
          el("td", {}, el("span", { class: `badge ${STATUS[v.status] || "neutral"} earning-status` }, v.status.replace("_", " "))),
          el("td", { class: "earning-rows" }, rowsText(v.rows)))),
        { empty: "No earning rules yet: your customers earn the tier rates only." }));
    if (!$("#earning-rows").children.length) {
      for (const r of rules.current ? rules.current.rows : []) addRow(r);
      if (!$("#earning-rows").children.length) addRow();
    }
  } catch (e) {
    fill("#earning-body", el("div", { class: "notice error", role: "alert" }, explain(e)));
  }
}

function addRow(row = null) {
  const b = view.bounds;
  if (!b) return;
  const category = el("select", { class: "earning-category", "aria-label": "Category" },
    b.categories.map((c) => el("option", { value: c, selected: row && row.category === c }, c)));
  const tier = el("select", { class: "earning-tier", "aria-label": "Tier" },
    b.tiers.map((t) => el("option", { value: t.name, selected: row && row.tier === t.name }, t.name)));
  const extra = el("input", { class: "earning-extra", inputmode: "numeric", "aria-label": "Extra bps",
    value: row ? String(row.extra_bps) : "", placeholder: `1–${b.max_extra_bps}` });
  const line = el("div", { class: "fields earning-row" },
    el("label", {}, "Category ", category), el("label", {}, "Tier ", tier), el("label", {}, "Extra bps ", extra),
    el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", onclick: () => line.remove() }, "Remove")));
  $("#earning-rows").append(line);
}

async function submitVersion() {
  fill("#earning-msg");
  const lines = [...document.querySelectorAll("#earning-rows .earning-row")];
  const rows = [];
  for (const [i, line] of lines.entries()) {
    const text = $(".earning-extra", line).value.trim();
    if (!/^\d+$/.test(text)) {
      notify("#earning-msg", "error", `Row ${i + 1}: the extra bps is a whole number, 1 to ${view.bounds.max_extra_bps}.`);
      return;
    }
    rows.push({ category: $(".earning-category", line).value, tier: $(".earning-tier", line).value, extra_bps: Number(text) });
  }
  try {
    const made = await view.call("/brands/me/earning-rules", { method: "POST", body: { rows } });
    notify("#earning-msg", "ok", `Version ${made.version} saved: it applies from epoch ${made.effective_epoch}.`);
    await loadEarning();
  } catch (e) {
    showRefusal(e);
  }
}

// A 422 names each row ("body.rows[2]") with what was wrong; said as "Row 3: …".
function showRefusal(e) {
  // The rules' own check sends {problems: [...]}, the request's validation the list itself ("body.rows.2.tier").
  const listed = e && e.status === 422 && e.detail ? (Array.isArray(e.detail) ? e.detail : e.detail.problems) : null;
  const problems = Array.isArray(listed) && listed.length ? listed : null;
  if (!problems) {
    notify("#earning-msg", "error", e);
    return;
  }
  const where = (w) => {
    const m = /rows(?:\[|\.)(\d+)/.exec(w || "");
    return m ? `Row ${Number(m[1]) + 1}` : "The version";
  };
  fill("#earning-msg", el("div", { class: "notice error", role: "alert" },
    el("p", {}, "Nothing was saved: the programme's bounds refuse this version."),
    el("ul", { class: "earning-problems" }, problems.map((p) => el("li", {}, `${where(p.where)}: ${p.problem}`)))));
}
