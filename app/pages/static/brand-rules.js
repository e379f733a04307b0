// The brand console's rules: whom (audience), what (offer), where (channel), when (trigger); the data
// categories each reads (derived by the server) shown with its reach; pause one.

import { $, busy, chips, el, explain, fill, plural, table } from "./common.js";

const view = { call: null, changed: null };

export function initRules(call, changed) {
  view.call = call;
  view.changed = changed;
  const form = $("#rule-form");
  if (!form.dataset.wired) {
    form.dataset.wired = "true";
    $("#rule-audience-kind").addEventListener("change", showFields);
    $("#rule-trigger").addEventListener("change", showFields);
    // Offers made in the section above since sign-in are offered too.
    $("#rule-box").addEventListener("toggle", () => loadOfferChoices().catch((e) => fill("#rule-msg", el("div", { class: "notice error" }, explain(e)))));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      busy($("#rule-submit"), "#rule-msg", createRule);
    });
  }
  showFields();
  return Promise.all([loadOfferChoices(), loadRules()])
    .catch((e) => fill("#rules-body", el("div", { class: "notice error", role: "alert" }, explain(e))));
}

function showFields() {
  const audience = $("#rule-audience-kind").value;
  $("#rule-audience-value-box").hidden = ["everyone", "trigger"].includes(audience);
  $("#rule-min-box").hidden = !["category", "style"].includes(audience);
  const trigger = $("#rule-trigger").value;
  $("#rule-event-box").hidden = trigger !== "behaviour";
  for (const box of document.querySelectorAll("#rule-form [data-window]")) box.hidden = trigger !== "date_window";
}

async function loadOfferChoices() {
  const page = await view.call("/brands/me/offers", { query: { limit: 100 } });
  const now = Date.now();
  const live = page.offers.filter((o) => Date.parse(o.valid_until) > now && !o.ended_at);
  fill("#rule-offer", live.length
    ? live.map((o) => el("option", { value: String(o.id) }, `${o.name} (${o.kind})`))
    : [el("option", { value: "" }, "no offer running: create one above")]);
}

function zoned(value) {
  // datetime-local has no zone: it is this browser's local time, sent as UTC with its Z.
  return value ? new Date(value).toISOString() : undefined;
}

function body() {
  const audience = {};
  const kind = $("#rule-audience-kind").value;
  const value = $("#rule-audience-value").value.trim();
  if (kind === "everyone") audience.everyone = true;
  else if (kind !== "trigger") audience[kind] = value;
  const min = $("#rule-min").value.trim();
  if (["category", "style"].includes(kind) && min) audience.min_score = Number(min);
  const trigger = { kind: $("#rule-trigger").value };
  if (trigger.kind === "behaviour") trigger.event = $("#rule-event").value;
  if (trigger.kind === "date_window") {
    trigger.window_start = zoned($("#rule-start").value);
    trigger.window_end = zoned($("#rule-end").value);
  }
  return {
    name: $("#rule-name").value.trim(),
    offer_id: Number($("#rule-offer").value) || 0,
    purpose: $("#rule-purpose").value,
    audience,
    channel: $("#rule-channel").value,
    trigger,
  };
}

async function createRule() {
  const rule = await view.call("/brands/me/rules", { method: "POST", body: body() });
  fill("#rule-msg", el("div", { class: "notice ok", role: "status" },
    `Rule “${rule.name}” created; it reads ${rule.categories.length ? rule.categories.join(", ") : "no data"}.`));
  await loadRules();
  if (view.changed) await view.changed();
}

function whom(rule) {
  const a = rule.audience;
  if (a.everyone) return "every customer of the brand";
  const parts = Object.entries(a).filter(([k]) => k !== "min_score").map(([k, v]) => `${k} ${v}`);
  if (a.min_score !== undefined) parts.push(`score ≥ ${a.min_score}`);
  return parts.join(", ") || "whoever the trigger names";
}

function when(t) {
  if (t.kind === "behaviour") return `on ${t.event}`;
  if (t.kind === "cart_abandoned") return "on a cart abandoned";
  return `${new Date(t.window_start).toLocaleDateString()} – ${new Date(t.window_end).toLocaleDateString()}`;
}

async function pause(rule) {
  await view.call(`/brands/me/rules/${rule.id}/pause`, { method: "POST" });
  await loadRules();
}

async function loadRules() {
  try {
    const rules = await view.call("/brands/me/rules");
    fill("#rules-body", table(
      ["Rule", "Whom", "When", "Where", "Data it reads", { label: "Reach", class: "num" }, "Status"],
      rules.map((r) => el("tr", { "data-rule": String(r.id) },
        el("td", {}, r.name),
        el("td", {}, whom(r)),
        el("td", {}, when(r.trigger)),
        el("td", {}, r.channel),
        el("td", { class: "rule-reads" }, r.categories.length ? chips(r.categories) : el("span", { class: "muted" }, "none (no consent needed)")),
        el("td", { class: "num" }, `${plural(r.customers, "customer")} · ${plural(r.deliveries, "delivery", "deliveries")}`),
        el("td", { class: "rule-status" }, r.active
          ? el("button", { type: "button", class: "secondary small", onclick: () => busy(null, "#rule-msg", () => pause(r)) }, "Pause")
          : el("span", { class: "badge neutral" }, "paused")))),
      { empty: "No rules yet." }));
  } catch (e) {
    fill("#rules-body", el("div", { class: "notice error", role: "alert" }, explain(e)));
  }
}
