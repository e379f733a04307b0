// The brand console's earning rules: its own cashback on top of the programme's tier rates (per category and
// tier, within the programme's bounds), versioned, each version in force from the next epoch on.

import { $, busy, el, explain, fill, plural, table } from "./common.js";

const view = { call: null, bounds: null };

export function initEarning(call) {
  view.call = call;
  const form = $("#earning-form");
  if (!form.dataset.wired) {
    form.dataset.wired = "true";
    $("#earning-add").addEventListener("click", () => addRow());
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      busy($("#earning-submit"), "#earning-msg", saveVersion);
    });
  }
  return loadEarning();
}

function percent(bps) {
  return `${(bps / 100).toFixed(2)} %`;
}

function option(value, label, selected) {
  return el("option", { value, selected: value === selected }, label);
}

// One editable row: category, tier, extra bps, remove. Nothing is pre-filled but what the newest version holds.
function addRow(row = {}) {
  const b = view.bounds;
  const line = el("div", { class: "earning-row", "data-earning-row": "" },
    el("label", {}, "Category ", el("select", { name: "category" },
      option("", "choose…", row.category || ""), b.categories.map((c) => option(c, c, row.category)))),
    el("label", {}, "Tier ", el("select", { name: "tier" },
      option("", "choose…", row.tier || ""), b.tiers.map((t) => option(t.name, `${t.name} (${percent(t.cashback_bps)})`, row.tier)))),
    el("label", {}, "Extra bps ", el("input", {
      name: "extra_bps", inputmode: "numeric", size: "5", value: row.extra_bps === undefined ? "" : String(row.extra_bps),
      placeholder: `1–${b.max_extra_bps}`,
    })),
    el("button", { type: "button", class: "secondary small", onclick: () => line.remove() }, "Remove"));
  $("#earning-rows").append(line);
}

function rowsOfForm() {
  return [...document.querySelectorAll("#earning-rows [data-earning-row]")].map((line) => {
    const text = line.querySelector("[name=extra_bps]").value.trim();
    // Sent as typed: a number when it is one, else the text itself, so the server names what was wrong.
    return {
      category: line.querySelector("[name=category]").value,
      tier: line.querySelector("[name=tier]").value,
      extra_bps: /^-?\d+$/.test(text) ? Number(text) : text,
    };
  });
}

async function saveVersion() {
  try {
    const v = await view.call("/brands/me/earning-rules", { method: "POST", body: { rows: rowsOfForm() } });
    await loadEarning();
    fill("#earning-msg", el("div", { class: "notice ok", role: "status" },
      `Version ${v.version} saved: ${plural(v.rows.length, "rate")}, in force from epoch ${v.effective_epoch}.`));
  } catch (e) {
    const problems = (e.detail && e.detail.problems) || [];
    fill("#earning-msg", el("div", { class: "notice error", role: "alert" },
      problems.length ? "Not saved; nothing changed:" : explain(e),
      problems.length ? el("ul", { class: "earning-problems" }, problems.map((p) => el("li", {}, `${rowName(p.where)}: ${p.problem}`))) : null));
  }
}

function rowName(where) {
  const m = /rows\[(\d+)\]/.exec(where || "");
  return m ? `row ${Number(m[1]) + 1}` : "the rows";
}

function rowsTable(rows, tiers) {
  const base = Object.fromEntries(tiers.map((t) => [t.name, t.cashback_bps]));
  return table(
    ["Category", "Tier", { label: "Extra", class: "num" }, { label: "Total", class: "num" }],
    rows.map((r) => el("tr", {},
      el("td", {}, r.category), el("td", {}, r.tier),
      el("td", { class: "num" }, `+${percent(r.extra_bps)}`),
      el("td", { class: "num" }, percent((base[r.tier] || 0) + r.extra_bps)))),
    { empty: "No rates of your own: the programme's tier rates apply." });
}

async function loadEarning() {
  try {
    const rules = await view.call("/brands/me/earning-rules");
    const b = rules.bounds;
    view.bounds = b;
    fill("#earning-bounds", `Up to ${percent(b.max_extra_bps)} extra per category and tier, at most ${percent(b.max_total_bps)} `
      + `with the tier's own rate, ${b.max_rows} rows. A version saved now is in force from epoch ${rules.next_effective_epoch}.`);
    const current = rules.current;
    fill("#earning-body",
      current
        ? el("p", { class: "small" }, `Newest: version ${current.version}, ${current.status.replace("_", " ")}, from epoch ${current.effective_epoch}.`)
        : null,
      rowsTable(current ? current.rows : [], b.tiers),
      rules.history.length > 1
        ? el("details", { class: "spaced" }, el("summary", {}, "Earlier versions"),
          table(["Version", { label: "From epoch", class: "num" }, "Status", { label: "Rates", class: "num" }],
            rules.history.slice(1).map((v) => el("tr", {},
              el("td", {}, String(v.version)), el("td", { class: "num" }, String(v.effective_epoch)),
              el("td", {}, v.status.replace("_", " ")), el("td", { class: "num" }, String(v.rows.length))))))
        : null);
    $("#earning-rows").replaceChildren();
    for (const r of current ? current.rows : []) addRow(r);
    $("#earning-submit").textContent = `Save as version ${current ? current.version + 1 : 1}`;
  } catch (e) {
    fill("#earning-body", el("div", { class: "notice error", role: "alert" }, explain(e)));
  }
}
