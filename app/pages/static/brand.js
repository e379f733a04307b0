// The brand console: API-key sign-in, budget and prices, the audience explorer, profile requests, access history.

import {
  $, api, busy, chips, el, explain, fill, formatDate, makeChart, PALETTE, plural, stat, table, toUnits, txLink,
} from "./common.js";
import { call, cash, enterView, session, startPage, tokenSignIn } from "./shell.js";
import { loadCocMap } from "./brand-coc.js";
import { initRules } from "./brand-rules.js";
import { initOffers } from "./brand-offers.js";
import { loadCampaigns } from "./brand-campaigns.js";
import { initEarning } from "./brand-earning.js";
import { initApplication, initSelfService } from "./brand-selfservice.js";

const KEY = "ledger.brand.key"; // sessionStorage: the API key, for this tab only

function shownCount(c) {
  if (!c) return "—";
  return c.count !== null && c.count !== undefined ? String(c.count) : `fewer than ${c.fewer_than}`;
}

function customersText(c) {
  return c && c.count !== null && c.count !== undefined ? plural(c.count, "customer") : `${shownCount(c)} customers`;
}

// -- account: budget, prices ---------------------------------------------------------------------

async function loadAccount() {
  try {
    const account = await call("/brands/me/account");
    const b = account.budget;
    const short = toUnits(b.shortfall) > 0n;
    fill(
      "#budget-body",
      el("div", { class: "stats" },
        stat("Deposited", cash(b.deposited), "CASH", toUnits(b.withdrawn) > 0n ? `withdrawn: ${cash(b.withdrawn)}` : "in total"),
        stat("Spent", cash(b.spent), "CASH", "paid out by settled epochs"),
        stat("Committed", cash(b.committed), "CASH", "owed for accesses not settled yet"),
        stat("Remaining", cash(b.remaining), "CASH", `on chain: ${cash(b.on_chain)}`)),
      short ? el("div", { class: "notice error", role: "alert" },
        `The budget cannot pay what is owed: ${cash(b.shortfall)} CASH short. Profile requests are refused until you deposit more.`) : null,
      toUnits(b.remaining) === 0n && !short ? el("div", { class: "notice warn" }, "The budget is empty: deposit CASH before requesting profiles.") : null,
      el("p", { class: "small muted" }, `${plural(account.accesses.requests, "profile request")} so far, ${plural(account.accesses.customers, "customer profile")} received.`),
    );
    $("#budget-note").textContent = account.indexed_block !== null ? `as of block ${account.indexed_block}` : "";
    fill("#prices-body", table(
      ["Purpose", { label: "Consents", class: "num" }, { label: "Lowest", class: "num" }, { label: "Median", class: "num" }, { label: "Highest", class: "num" }],
      account.prices.map((p) => el("tr", {},
        el("td", {}, p.purpose),
        el("td", { class: "num" }, shownCount(p.consents)),
        el("td", { class: "num" }, p.min === null ? "—" : cash(p.min)),
        el("td", { class: "num" }, p.median === null ? "—" : cash(p.median)),
        el("td", { class: "num" }, p.max === null ? "—" : cash(p.max)))),
      { empty: "No customer has consented to your brand yet." },
    ), el("p", { class: "small muted" }, "Prices are in CASH per customer per access, set by each customer in their consent; shown only where enough customers consented to keep them anonymous."));
  } catch (e) {
    fill("#budget-body", el("div", { class: "notice error" }, explain(e)));
    fill("#prices-body", el("p", { class: "empty" }, "—"));
  }
}

// -- scope: purpose, categories, filters ------------------------------------------------------------

function scope() {
  const categories = [...document.querySelectorAll("#categories input:checked")].map((i) => i.value);
  if (!categories.length) throw new Error("Choose at least one data category.");
  const filters = {};
  const segment = $("#f-segment").value;
  const tier = $("#f-tier").value;
  const category = $("#f-category").value.trim();
  const style = $("#f-style").value.trim();
  const min = $("#f-min").value.trim();
  if (segment) filters.segment = segment;
  if (tier) filters.tier = tier;
  if (category) filters.category = category;
  if (style) filters.style = style;
  if (min) {
    const level = Number(min);
    if (!Number.isFinite(level) || level < 0) throw new Error("The least interest score is a number of 0 or more.");
    filters.min_interest = level;
  }
  return { purpose: $("#purpose").value, categories, filters };
}

function fillOptions(select, groups) {
  if (!groups) return;
  const current = select.value;
  const names = groups.map((g) => g.value).filter((v) => v !== "unscored");
  fill(select, el("option", { value: "" }, "any"), names.map((n) => el("option", { value: n, selected: n === current }, n)));
}

function groupChart(canvas, groups, label, color) {
  const data = groups || [];
  const box = canvas.parentElement;
  const visible = data.filter((g) => g.count !== null && g.count !== undefined);
  let note = box.nextElementSibling;
  if (!note || !note.classList.contains("chart-note")) {
    note = el("p", { class: "empty chart-note" });
    box.after(note);
  }
  // Groups under the threshold have no count to draw: say so rather than show an empty chart.
  box.hidden = !visible.length;
  note.hidden = Boolean(visible.length);
  note.textContent = data.length
    ? "Every group here is under the anonymity threshold, so no counts can be drawn."
    : "Not available for the categories chosen.";
  makeChart(canvas, {
    type: "bar",
    data: {
      labels: data.map((g) => g.value),
      datasets: [{ label, data: data.map((g) => (g.count === null ? 0 : g.count)), backgroundColor: color }],
    },
    options: {
      indexAxis: "y",
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (ctx) => customersText(data[ctx.dataIndex]) } },
      },
    },
  });
}

async function countAudience(event) {
  event.preventDefault();
  await busy($("#count"), "#scope-msg", async () => {
    const s = scope();
    const a = await call("/audience", { query: { purpose: s.purpose, categories: s.categories, ...s.filters } });
    fillOptions($("#f-segment"), a.by_segment);
    fillOptions($("#f-tier"), a.by_tier);
    const small = (groups, title) => groups ? el("div", {}, el("h3", {}, title), table(["", { label: "Customers", class: "num" }],
      groups.map((g) => el("tr", {}, el("td", {}, g.value), el("td", { class: "num" }, shownCount(g)))))) : null;
    fill("#audience-body",
      el("div", { class: "stats around" },
        stat("Consenting customers", shownCount(a.total), null, `${a.purpose} · ${a.categories.join(", ")} · block ${a.block_number}`)),
      el("p", { class: "small muted" }, `Counts under ${a.k_min} are shown as "fewer than ${a.k_min}" so that nobody can be singled out.`),
      el("div", { class: "grid-2" }, small(a.by_tier, "By tier"), small(a.by_style, "By style")));
    const hasCharts = Boolean(a.by_segment || a.by_category);
    $("#audience-charts").hidden = !hasCharts;
    if (hasCharts) {
      groupChart($("#segment-chart"), a.by_segment, "customers", PALETTE[0]);
      groupChart($("#interest-chart"), a.by_category, "customers", PALETTE[1]);
    }
  });
}

// -- profile requests --------------------------------------------------------------------------------

function cellText(value) {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.map(cellText).join(", ");
  if (typeof value === "object") {
    if (!Object.keys(value).length) return "—";
    return Object.entries(value).map(([k, v]) => `${k}: ${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(1) : cellText(v)}`).join(" · ");
  }
  return String(value);
}

async function requestProfiles() {
  await busy($("#request"), "#scope-msg", async () => {
    const s = scope();
    const limit = Number($("#limit").value || 100);
    if (!Number.isInteger(limit) || limit < 1) throw new Error("The number of profiles is a whole number of 1 or more.");
    if (!confirm(`Request up to ${plural(limit, "profile")} for ${s.purpose}? Each one is recorded on chain and paid from your budget at the customer's price.`)) return;
    const r = await call("/profiles", { method: "POST", body: { ...s, limit } });
    const keys = [];
    for (const p of r.profiles) for (const k of Object.keys(p)) if (!keys.includes(k) && k !== "address" && k !== "price") keys.push(k);
    fill("#profiles-body",
      el("h3", { class: "spaced" }, "Profiles received"),
      el("div", { class: "stats below" },
        stat("Customers", String(r.customers)),
        stat("Cost", cash(r.cost), "CASH", "committed from your budget"),
        el("div", { class: "stat" }, el("div", { class: "label" }, "Recorded in"), el("div", { class: "value plain" }, r.tx_hash ? txLink(session.cfg, r.tx_hash) : "nothing to record"),
          el("div", { class: "note" }, r.block_number ? `block ${r.block_number}` : ""))),
      table(["Customer", { label: "Price", class: "num" }, ...keys], r.profiles.map((p) =>
        el("tr", { dataset: { address: p.address } },
          el("td", { class: "addr" }, p.address),
          el("td", { class: "num" }, cash(p.price)),
          keys.map((k) => el("td", { class: "small" }, cellText(p[k]))))),
        { empty: "No customer's consent covers this request right now: no data, and nothing was charged." }));
    await Promise.all([loadAccount(), loadHistory()]);
  });
}

// -- history ---------------------------------------------------------------------------------------

// A profile request's fate: recorded on chain and delivered, or refused / failed (with its reason beside it).
function requestBadge(status) {
  const kind = { delivered: "ok", recorded: "ok", failed: "bad", refused: "bad" }[status] || "neutral";
  return el("span", { class: `badge ${kind}` }, status);
}

async function loadHistory() {
  try {
    const page = await call("/brands/me/accesses", { query: { limit: 50 } });
    fill("#history-body", table(
      ["When", "Purpose", "Data", { label: "Customers", class: "num" }, { label: "Cost (CASH)", class: "num" }, "Status", "Transaction"],
      page.items.map((a) => el("tr", {},
        el("td", {}, formatDate(a.created_at)),
        el("td", {}, a.purpose),
        el("td", {}, chips(a.categories)),
        el("td", { class: "num" }, String(a.customers)),
        el("td", { class: "num" }, cash(a.cost)),
        el("td", {}, requestBadge(a.status), a.error ? el("div", { class: "small muted" }, a.error) : null),
        el("td", {}, txLink(session.cfg, a.tx_hash)))),
      { empty: "No profile requests yet." }),
      page.total > page.items.length ? el("p", { class: "small muted" }, `Showing the latest ${page.items.length} of ${page.total}.`) : null);
  } catch (e) {
    fill("#history-body", el("div", { class: "notice error" }, explain(e)));
  }
}

// -- start -------------------------------------------------------------------------------------------

startPage(async (cfg) => {
  fill("#purpose", cfg.purposes.map((p) => el("option", { value: p }, p)));
  fill("#categories", cfg.categories.map((c) =>
    el("label", {}, el("input", { type: "checkbox", value: c, checked: ["segment", "interests"].includes(c) }), c)));
  $("#scope-form").addEventListener("submit", countAudience);
  $("#request").addEventListener("click", requestProfiles);
  initApplication();
  await tokenSignIn({
    storageKey: KEY,
    input: "#api-key",
    check: (key) => api("/brands/me", { token: key }),
    invalid: "That API key is not valid (mistyped, or revoked by the operator).",
    enter: (brand) => enterView({ gate: "#signin", view: "#console", who: brand.name, title: brand.address },
      () => Promise.all([
        loadAccount(), loadHistory(), initOffers(session.token, session.cfg.token_decimals), loadCocMap(call),
        initRules(call, () => loadCocMap(call)), loadCampaigns(call), initEarning(call), initSelfService(),
      ])),
  });
});
