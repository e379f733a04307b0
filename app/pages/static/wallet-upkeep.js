// Paid upkeep of my profile: per personal field when I last updated or confirmed it, its reminder, what keeping it
// current earns, and "Confirm these details" for the fields whose reminder is due (nothing ticked for me).

import { $, busy, el, fill, formatDate, notify, plural, table } from "./common.js";
import { call, cash } from "./shell.js";

const LABELS = { name: "Name", email: "Email", phone: "Phone", birth_year: "Birth year", gender: "Gender", region: "Region" };

export async function loadUpkeep() {
  const target = $("#upkeep-body");
  try {
    showUpkeep(await call("/me/upkeep"));
  } catch (e) {
    notify(target, "error", e);
  }
}

function showUpkeep(u) {
  const due = u.fields.filter((f) => f.due);
  const each = `${cash(u.reward)} CASH`;
  fill("#upkeep-body",
    el("h3", {}, "Keep your details current"),
    el("p", { class: "small" },
      `The programme pays ${each} per field you update to a new value, or confirm when reminded (every ${u.reminder_days} days), `
      + `at most once per field in ${u.period_days} days; returning a field to a value already paid for earns nothing. Paid at the next epoch.`),
    due.length
      ? el("div", { class: "notice warn", role: "status", id: "upkeep-reminder" },
        `Reminder: please check ${plural(due.length, "detail")} ${due.length === 1 ? "is" : "are"} still right: ${due.map((f) => LABELS[f.field]).join(", ")}.`)
      : null,
    table(
      ["Field", "Last updated", "Last confirmed", "Reminder", { label: "Earns", class: "num" }],
      u.fields.map((f) => el("tr", { dataset: { field: f.field } },
        el("td", {}, LABELS[f.field] || f.field),
        el("td", {}, f.last_updated_at ? formatDate(f.last_updated_at, false) : el("span", { class: "muted" }, "never")),
        el("td", {}, f.last_confirmed_at ? formatDate(f.last_confirmed_at, false) : el("span", { class: "muted" }, "never")),
        el("td", {}, reminder(f)),
        el("td", { class: "num" }, earns(f))))),
    due.length ? confirmForm(due) : el("p", { class: "small muted", id: "upkeep-none-due" }, "No reminder is due: nothing to confirm now."));
}

function reminder(f) {
  if (!f.counted) return el("span", { class: "muted" }, "not paid for");
  if (!f.has_value) return el("span", { class: "muted" }, "empty: nothing to confirm");
  return f.due ? el("b", {}, `due since ${formatDate(f.reminder_due_at, false)}`) : `from ${formatDate(f.reminder_due_at, false)}`;
}

function earns(f) {
  const parts = [];
  if (f.due) parts.push(`${cash(f.confirm_would_earn)} if confirmed`);
  if (f.pending !== "0") parts.push(`${cash(f.pending)} at the next epoch`);
  if (f.earned !== "0") parts.push(`${cash(f.earned)} paid`);
  return parts.length ? parts.join(" · ") : "—";
}

function confirmForm(due) {
  const boxes = due.map((f) => el("label", {},
    el("input", { type: "checkbox", name: "upkeep-field", value: f.field, id: `upkeep-${f.field}` }),
    `${LABELS[f.field]} (${cash(f.confirm_would_earn)} CASH)`));
  const go = el("button", { type: "submit", id: "upkeep-confirm", disabled: true }, "Confirm these details");
  const form = el("form", { id: "upkeep-form", class: "spaced" },
    el("fieldset", {}, el("legend", { class: "small" }, "Tick each detail you checked and found right:"), el("div", { class: "checks" }, boxes)),
    el("div", { class: "actions" }, go),
    el("div", { id: "upkeep-msg" }));
  form.addEventListener("change", () => { go.disabled = !ticked(form).length; });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(go, "#upkeep-msg", async () => {
      const fields = ticked(form);
      await call("/me/personal/confirm", { method: "POST", body: { fields } });
      await loadUpkeep();
      $("#upkeep-body").prepend(el("div", { class: "notice ok", role: "status", id: "upkeep-done" },
        `Confirmed: ${fields.map((f) => LABELS[f]).join(", ")}. Paid at the next epoch.`));
    });
  });
  return form;
}

function ticked(form) {
  return [...form.querySelectorAll("input[name=upkeep-field]:checked")].map((i) => i.value);
}
