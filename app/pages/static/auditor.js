// The auditor view: verification status and report, the mirror's state, the segment grid, rewards per epoch,
// and the ledger browsable by customer, brand and epoch (read-only /ledger/* routes).

import {
  $, api, busy, cashNumber, chips, el, explain, fill, formatDate, makeChart, notify, PALETTE, plural, shortHex, stat,
  table, txLink,
} from "./common.js";
import { loadCampaignAudits } from "./auditor-campaigns.js";
import { call, cash, enterView, session, startPage, tokenSignIn } from "./shell.js";

const TOKEN = "ledger.auditor.token"; // sessionStorage, this tab only
const PAGE = 25;
const state = { epochs: [], tab: "accesses", offset: 0 };
const purposeName = (id) => session.cfg.purposes[id - 1] || String(id);
const categoryNames = (mask) => session.cfg.categories.filter((_c, i) => (BigInt(mask) >> BigInt(i)) & 1n); // a uint64, as a string
const addr = (a) => el("span", { class: "addr", title: a }, shortHex(a, 8, 6));

// -- verification ----------------------------------------------------------------------------------

function renderReport(report) {
  const verdict = report.ok
    ? el("span", { class: "badge ok" }, "verified: no discrepancy")
    : el("span", { class: "badge bad" }, plural(report.discrepancies, "discrepancy", "discrepancies"));
  $("#report-when").textContent = `generated ${formatDate(report.generated_at)}`;
  $("#open-report").disabled = false;
  fill("#report-body",
    el("p", {}, verdict, " ", el("span", { class: "small muted" }, `chain ${report.chain.chain_id}, audited up to block ${report.chain.audited_block}`)),
    table(["Check", "Result", "Summary"], report.checks.map((c) =>
      el("tr", {},
        el("td", {}, c.title),
        el("td", {}, el("span", { class: `badge ${c.status === "ok" ? "ok" : "bad"}` }, c.status)),
        el("td", { class: "small" }, c.summary,
          c.discrepancies.length ? el("ul", { class: "small" }, c.discrepancies.slice(0, 5).map((d) =>
            el("li", {}, (d.epoch ? `epoch ${d.epoch}: ` : "") + d.evidence))) : null)))));
}

// Before the first audit the API answers 204 No Content: a state of the ledger, not a missing page.
function renderNoReport() {
  $("#report-when").textContent = "";
  $("#open-report").disabled = true;
  fill("#report-body",
    el("p", {}, el("span", { class: "badge neutral" }, "no audit run yet")),
    el("p", { class: "empty" }, "Nothing has been verified on this ledger yet. Verify now: it re-reads the chain from the deployment block and re-derives every epoch."));
}

async function loadReport() {
  try {
    const report = await call("/audit/reports/latest");
    if (report === null) renderNoReport();
    else renderReport(report);
  } catch (e) {
    fill("#report-body", el("div", { class: "notice error" }, explain(e)));
  }
}

async function verifyNow() {
  await busy($("#verify"), "#verify-msg", async () => {
    notify("#verify-msg", "info", "Verifying: re-reading the chain and recomputing every epoch…");
    const report = await call("/audit/verify", { method: "POST" });
    renderReport(report);
    notify("#verify-msg", report.ok ? "ok" : "warn", report.ok ? "Verification finished: the ledger adds up." : "Verification finished with discrepancies: see the checks.");
  });
}

async function openReport() {
  await busy($("#open-report"), "#verify-msg", async () => {
    const response = await call("/audit/reports/latest.html", { raw: true });
    const url = URL.createObjectURL(await response.blob());
    window.open(url, "_blank", "noopener");
  });
}

async function loadStatus() {
  try {
    const s = await call("/ledger/status");
    const lagNote = s.lag === null ? "chain not answering" : s.lag === 0 ? "up to date" : `${plural(s.lag, "block")} behind`;
    fill("#status-body",
      el("div", { class: "stats" },
        stat("Chain head", s.chain_head === null ? "—" : String(s.chain_head), null, `chain id ${s.chain_id ?? "—"}`),
        stat("Mirror at block", s.indexed_block === null ? "—" : String(s.indexed_block), null, lagNote)),
      el("p", { class: "small muted" }, `Contracts deployed at block ${s.deployment_block ?? "—"}; ${plural(s.confirmations, "confirmation")} awaited. Mirror updated ${formatDate(s.updated_at)}.`));
    $("#ledger-indexed").textContent = s.indexed_block === null ? "" : `mirror at block ${s.indexed_block}`;
  } catch (e) {
    fill("#status-body", el("div", { class: "notice error" }, explain(e)));
  }
}

// -- charts ----------------------------------------------------------------------------------------

async function loadEpochs() {
  try {
    state.epochs = await call("/pages/auditor/rewards-per-epoch");
  } catch {
    state.epochs = [];
  }
  const options = state.epochs.map((e) => el("option", { value: e.epoch }, `#${e.epoch} (${formatDate(e.as_of, false)})`));
  fill("#f-epoch", el("option", { value: "" }, "all"), options.map((o) => o.cloneNode(true)));
  fill("#grid-epoch", options.length ? options.slice().reverse() : [el("option", { value: "" }, "none yet")]);
  drawRewards();
}

function drawRewards() {
  const d = session.cfg.token_decimals;
  const list = state.epochs;
  makeChart($("#rewards-chart"), {
    type: "bar",
    data: {
      labels: list.map((e) => `#${e.epoch}`),
      datasets: [
        { label: "Purchase cashback", data: list.map((e) => cashNumber(e.purchase_cashback, d)), backgroundColor: PALETTE[0], stack: "r" },
        { label: "Data accesses", data: list.map((e) => cashNumber(e.access_earnings, d)), backgroundColor: PALETTE[1], stack: "r" },
      ],
    },
    options: {
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "CASH" } } },
      plugins: { tooltip: { callbacks: { footer: (items) => plural(list[items[0].dataIndex].accounts, "account") } } },
    },
  });
}

// Heat map as a table: R down (best recency on top), F across; darker = more customers.
async function loadGrid() {
  try {
    const epoch = $("#grid-epoch").value;
    const g = await call("/pages/auditor/segment-grid", { query: { epoch } });
    if (g.epoch === null) {
      fill("#grid-body", el("p", { class: "empty" }, "No epoch has graded customers yet."));
      return;
    }
    const byCell = new Map(g.cells.map((c) => [`${c.r},${c.f}`, c]));
    const max = Math.max(1, ...g.cells.map((c) => c.customers));
    const scores = Array.from({ length: g.max_score }, (_v, i) => i + 1);
    const rows = scores.slice().reverse().map((r) =>
      el("tr", {}, el("th", { scope: "row" }, `R${r}`), scores.map((f) => {
        const c = byCell.get(`${r},${f}`);
        const n = c ? c.customers : 0;
        const alpha = n ? 0.15 + 0.85 * (n / max) : 0.04;
        const dark = alpha > 0.55;
        return el("td", {
          style: `background:rgba(31,111,120,${alpha.toFixed(3)});color:${dark ? "#fff" : "#1d2330"}`,
          title: c ? `R${r} F${f}: ${plural(n, "customer")} (${c.segments.join(", ")})` : `R${r} F${f}: nobody`,
          dataset: { r, f, n },
        }, String(n), c ? el("small", {}, c.segments.join(", ")) : null);
      })));
    const box = el("div", { class: "scroll-box" },
      el("div", { class: "scroller", tabindex: "0", "aria-label": "Heat map, scrolls sideways" }, el("table", { class: "heat" },
        el("thead", {}, el("tr", {}, el("th", {}, ""), scores.map((f) => el("th", {}, `F${f}`)))),
        el("tbody", {}, rows))),
      el("p", { class: "scroll-cue small" }, `Scroll sideways for every column (F1 to F${g.max_score}) →`));
    fill("#grid-body",
      box,
      el("p", { class: "small muted" }, `Epoch ${g.epoch}, ${g.scheme} scheme. Segments: `),
      chips(Object.entries(g.segments).map(([s, n]) => `${s}: ${n}`)));
    scrollCue(box);
  } catch (e) {
    fill("#grid-body", el("div", { class: "notice error" }, explain(e)));
  }
}

// A narrow screen hides the last columns: say so, and fade the edge that has more, until scrolled to it.
function scrollCue(box) {
  const scroller = box.querySelector(".scroller");
  const update = () => {
    const more = scroller.scrollWidth - scroller.clientWidth;
    box.dataset.overflow = String(more > 1);
    box.dataset.moreRight = String(more > 1 && scroller.scrollLeft < more - 1);
  };
  scroller.addEventListener("scroll", update, { passive: true });
  new ResizeObserver(update).observe(scroller);
  update();
}

// -- ledger browser ----------------------------------------------------------------------------------

const when = (r) => el("td", {}, formatDate(r.block_time), el("div", { class: "small muted" }, `block ${r.block_number}`));
const tx = (hash) => el("td", {}, txLink(session.cfg, hash));
const money = (v) => el("td", { class: "num" }, v === null || v === undefined ? "—" : cash(v));

const TABS = {
  accesses: {
    label: "Accesses", path: "/ledger/accesses", customer: true, brand: true, blocks: true,
    head: ["When", "Brand", "Customer", "Purpose", "Data", { label: "Price", class: "num" }, "Transaction"],
    row: (r) => [when(r), el("td", {}, addr(r.brand)), el("td", {}, addr(r.customer)), el("td", {}, purposeName(r.purpose)), el("td", {}, chips(r.category_names)), money(r.price), tx(r.tx_hash)],
  },
  consents: {
    label: "Consents", path: "/ledger/consents", customer: true, brand: true, blocks: false,
    head: ["Customer", "Brand", "Purpose", "Status", "Data", { label: "Price", class: "num" }, "Ends", "Last change"],
    row: (r) => [el("td", {}, addr(r.customer)), el("td", {}, addr(r.brand)), el("td", {}, purposeName(r.purpose)),
      el("td", {}, el("span", { class: `badge ${r.status === "active" ? "ok" : r.status === "expired" ? "warn" : "neutral"}` }, r.status)),
      el("td", {}, chips(r.category_names)), money(r.price), el("td", {}, r.expires_at ? formatDate(r.expires_at, false) : "no end"), tx(r.updated_tx_hash)],
  },
  "consent-events": {
    label: "Consent changes", path: "/ledger/consent-events", customer: true, brand: true, blocks: true,
    head: ["When", "Change", "Customer", "Brand", "Purpose", "Data", { label: "Price", class: "num" }, "Transaction"],
    row: (r) => [when(r), el("td", {}, r.kind), el("td", {}, addr(r.customer)), el("td", {}, addr(r.brand)), el("td", {}, purposeName(r.purpose)),
      el("td", {}, r.categories === null ? "—" : chips(categoryNames(r.categories))), money(r.price), tx(r.tx_hash)],
  },
  epochs: {
    label: "Epochs", path: "/ledger/epochs", customer: false, brand: true, blocks: false,
    head: ["Epoch", "Published", { label: "Total", class: "num" }, "Brands debited", "Root", "Transaction"],
    row: (r) => [el("td", {}, `#${r.epoch}`), when(r), money(r.total),
      el("td", { class: "small" }, r.debits.map((d) => el("div", {}, addr(d.brand), " ", cash(d.amount)))),
      el("td", {}, el("span", { class: "addr", title: r.root }, shortHex(r.root, 10, 6))), tx(r.tx_hash)],
  },
  claims: {
    label: "Claims", path: "/ledger/claims", customer: true, brand: false, blocks: true,
    head: ["When", "Account", { label: "Paid", class: "num" }, { label: "Cumulative", class: "num" }, "Transaction"],
    row: (r) => [when(r), el("td", {}, addr(r.account)), money(r.amount), money(r.cumulative_amount), tx(r.tx_hash)],
  },
  budgets: {
    label: "Budgets", path: "/ledger/budgets", customer: false, brand: true, blocks: true,
    head: ["When", "Kind", "Brand", "From / to", { label: "Amount", class: "num" }, "Transaction"],
    row: (r) => [when(r), el("td", {}, r.kind), el("td", {}, addr(r.brand)), el("td", {}, addr(r.counterparty)), money(r.amount), tx(r.tx_hash)],
  },
  transfers: {
    label: "Token transfers", path: "/ledger/transfers", customer: true, brand: true, blocks: true,
    head: ["When", "From", "To", { label: "Amount", class: "num" }, "Transaction"],
    row: (r) => [when(r), el("td", {}, /^0x0+$/.test(r.from_address) ? "minted" : addr(r.from_address)), el("td", {}, addr(r.to_address)), money(r.amount), tx(r.tx_hash)],
  },
};

function drawTabs() {
  fill("#tabs", Object.entries(TABS).map(([name, t]) =>
    el("button", { type: "button", role: "tab", "aria-selected": String(name === state.tab), onclick: () => { state.tab = name; state.offset = 0; drawTabs(); loadLedger(); } }, t.label)));
}

function isAddress(v) {
  return /^0x[0-9a-fA-F]{40}$/.test(v);
}

async function loadLedger() {
  const t = TABS[state.tab];
  const query = { limit: PAGE, offset: state.offset };
  const customer = $("#f-customer").value.trim();
  const brand = $("#f-brand").value.trim();
  const epoch = $("#f-epoch").value;
  const notes = [];
  try {
    for (const [v, label] of [[customer, "customer"], [brand, "brand"]]) {
      if (v && !isAddress(v)) throw new Error(`The ${label} address should be 0x followed by 40 hex digits.`);
    }
    if (customer) (t.customer ? (query.customer = customer) : notes.push("customer"));
    if (brand) (t.brand ? (query.brand = brand) : notes.push("brand"));
    let rowsFilter = null;
    if (epoch) {
      const e = state.epochs.find((x) => String(x.epoch) === epoch);
      if (t.blocks && e) {
        query.from_block = e.from_block;
        query.to_block = e.to_block;
      } else if (state.tab === "epochs") {
        rowsFilter = (r) => String(r.epoch) === epoch;
      } else notes.push("epoch");
    }
    const page = await call(t.path, { query });
    const items = rowsFilter ? page.items.filter(rowsFilter) : page.items;
    fill("#ledger-msg", notes.length ? el("div", { class: "notice info" }, `This list cannot be filtered by ${notes.join(" or ")}; showing it unfiltered by that.`) : null);
    fill("#ledger-body", table(t.head, items.map((r) => el("tr", {}, t.row(r))), { empty: "No rows match." }));
    const last = Math.min(page.offset + page.items.length, page.total);
    $("#page-info").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "";
    $("#prev").disabled = page.offset === 0;
    $("#next").disabled = last >= page.total;
  } catch (e) {
    notify("#ledger-msg", "error", e);
    fill("#ledger-body");
  }
}

// -- start -------------------------------------------------------------------------------------------

startPage(async () => {
  drawTabs();
  $("#verify").addEventListener("click", verifyNow);
  $("#open-report").addEventListener("click", openReport);
  $("#grid-epoch").addEventListener("change", loadGrid);
  $("#filters").addEventListener("submit", (ev) => { ev.preventDefault(); state.offset = 0; loadLedger(); });
  $("#f-clear").addEventListener("click", () => { $("#filters").reset(); state.offset = 0; loadLedger(); });
  $("#prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); loadLedger(); });
  $("#next").addEventListener("click", () => { state.offset += PAGE; loadLedger(); });
  await tokenSignIn({
    storageKey: TOKEN,
    input: "#token",
    check: (token) => api("/ledger/status", { token }),
    invalid: "That token is not valid (mistyped, or revoked by the operator).",
    enter: () => enterView({ gate: "#signin", view: "#view", who: "auditor (read-only)" }, async () => {
      await loadEpochs();
      await Promise.all([loadReport(), loadStatus(), loadGrid(), loadLedger(), loadCampaignAudits(call, session.cfg)]);
    }),
  });
});
