// The brand console's offers: create one (each kind's own fields; the server's refusals shown by each field),
// and list them with their budget spent, deliveries and redemptions; end one early.

import { $, api, busy, el, explain, fill, formatCash, formatDate, notify, parseCash, table } from "./common.js";

const KIND_FIELDS = {
  cashback_bps: ["bps", "budget"],
  fixed_bonus: ["bonus", "budget"],
  coupon: ["coupon_code", "discount", "per_customer"],
  gift: ["discount", "per_customer"],
  message: ["body"],
  page: ["body"],
};
// The form's field for each body field the server may name (`body.<name>`).
const FIELD_OF = { bps: "bps", bonus_units: "bonus", budget_units: "budget", coupon_code: "coupon_code",
  discount: "discount", body: "body", per_customer: "per_customer", name: "name", terms: "terms",
  valid_from: "valid_from", valid_until: "valid_until", kind: "kind" };
const view = { token: null, decimals: 18 };

export function initOffers(token, decimals) {
  view.token = token;
  view.decimals = decimals;
  const form = $("#offer-form");
  if (!form.dataset.wired) {
    form.dataset.wired = "true";
    $("#offer-kind").addEventListener("change", showKindFields);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      busy($("#offer-submit"), null, createOffer);
    });
  }
  showKindFields();
  return loadOffers().catch((e) => fill("#offers-body", el("div", { class: "notice error", role: "alert" }, explain(e))));
}

function showKindFields() {
  const wanted = KIND_FIELDS[$("#offer-kind").value] || [];
  for (const label of document.querySelectorAll("#offer-form [data-kind-field]")) {
    label.hidden = !wanted.includes(label.dataset.kindField);
  }
}

function value(id) {
  return $(`#offer-${id}`).value.trim();
}

// A date (from the date picker, the customer's calendar day) as the start of that day in UTC.
function dayStart(text) {
  return text ? `${text}T00:00:00Z` : "";
}

function clearProblems() {
  for (const node of document.querySelectorAll("#offer-form .field-problem")) node.remove();
  for (const node of document.querySelectorAll("#offer-form [aria-invalid]")) node.removeAttribute("aria-invalid");
  fill("#offer-msg");
}

function showProblem(field, text) {
  const input = $(`#offer-${field}`);
  const label = input ? input.closest("label") : null;
  if (!label) return false;
  input.setAttribute("aria-invalid", "true");
  label.append(el("span", { class: "field-problem small", role: "alert", dataset: { field } }, text));
  return true;
}

async function createOffer() {
  clearProblems();
  const kind = value("kind");
  const wanted = KIND_FIELDS[kind];
  const body = { name: value("name"), kind, terms: value("terms"), valid_from: dayStart(value("valid_from")),
    valid_until: dayStart(value("valid_until")) };
  try {
    if (wanted.includes("bps")) body.bps = Number(value("bps"));
    if (wanted.includes("bonus")) body.bonus_units = parseCash(value("bonus") || "0", view.decimals);
    if (wanted.includes("budget")) body.budget_units = parseCash(value("budget") || "0", view.decimals);
  } catch (e) {
    notify("#offer-msg", "error", e.message);
    return;
  }
  for (const name of ["coupon_code", "discount", "body"]) if (wanted.includes(name)) body[name] = value(name);
  if (wanted.includes("per_customer")) body.per_customer = Number(value("per_customer") || "1");
  try {
    const offer = await api("/brands/me/offers", { method: "POST", body, token: view.token });
    notify("#offer-msg", "ok", `Offer “${offer.name}” created.`);
    $("#offer-form").reset();
    showKindFields();
    await loadOffers();
  } catch (e) {
    const problems = Array.isArray(e.detail) ? e.detail : (e.detail && e.detail.problems) || [];
    let unplaced = 0;
    for (const p of problems) {
      const name = String(p.where || "").replace(/^body\./, "").split(".")[0];
      if (!showProblem(FIELD_OF[name] || name, p.problem)) unplaced += 1;
    }
    notify("#offer-msg", "error", problems.length && !unplaced ? "The offer was not created: see the fields marked below." : e);
  }
}

export async function loadOffers() {
  const page = await api("/brands/me/offers", { token: view.token, query: { limit: 100 } });
  const cash = (units) => formatCash(units, view.decimals);
  const rows = page.offers.map((o) => {
    const monetary = o.kind === "cashback_bps" || o.kind === "fixed_bonus";
    const over = o.ended_at || new Date(o.valid_until) <= new Date();
    return el("tr", { dataset: { offer: o.id, kind: o.kind } },
      el("td", {}, o.name),
      el("td", {}, o.kind.replace("_", " ")),
      el("td", {}, `${formatDate(o.valid_from, false)} – ${formatDate(o.ended_at || o.valid_until, false)}`),
      el("td", { class: "num" }, monetary ? cash(o.budget_units) : "—"),
      el("td", { class: "num spent" }, monetary ? cash(o.spent) : "—"),
      el("td", { class: "num" }, String(o.delivered)),
      el("td", { class: "num" }, String(o.redeemed)),
      el("td", {}, over ? el("span", { class: "muted small" }, o.ended_at ? "ended" : "over")
        : el("button", { class: "secondary end", onclick: (ev) => busy(ev.target, "#offer-msg", () => endOffer(o)) }, "End")));
  });
  fill("#offers-body", table(["Offer", "Kind", "Valid", { label: "Budget (CASH)", class: "num" },
    { label: "Spent (CASH)", class: "num" }, { label: "Delivered", class: "num" }, { label: "Redeemed", class: "num" }, ""],
  rows, { empty: "No offers yet: create one below." }));
}

async function endOffer(offer) {
  if (!confirm(`End “${offer.name}” now? Purchases after this earn nothing from it and its coupon stops working.`)) return;
  await api(`/brands/me/offers/${offer.id}/end`, { method: "POST", token: view.token });
  notify("#offer-msg", "ok", `Offer “${offer.name}” ended.`);
  await loadOffers();
}
