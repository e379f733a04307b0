// My data, as brands see it: every field held about me by category, who may see each now and who saw it when;
// edit my personal fields, erase them (GDPR art. 17) after a confirm step, download everything (art. 20).

import { $, busy, chips, el, explain, fill, formatDate, formatWon, notify, plural, saveBlob, txLink } from "./common.js";
import { call, cash, session } from "./shell.js";
import { loadUpkeep } from "./wallet-upkeep.js";

const PERSONAL = [
  ["name", "Name", "text"], ["email", "Email", "email"], ["phone", "Phone", "tel"],
  ["birth_year", "Birth year", "number"], ["gender", "Gender", "text"], ["region", "Region", "text"],
];
const TITLES = {
  contact: "Contact", demographics: "Demographics", purchases: "Purchases", segment: "Segment and tier",
  interests: "Interests", styles: "Styles", cart: "Cart",
};
const view = { data: null, wired: false };

export async function loadMyData() {
  wire();
  try {
    view.data = await call("/me/data");
    showMyData(view.data);
    if (!view.data.erased_at) await loadUpkeep(); // paid upkeep of these fields (wallet-upkeep.js)
  } catch (e) {
    fill("#mydata-body", el("div", { class: "notice error", role: "alert" }, explain(e)));
  }
}

function showMyData(data) {
  $("#mydata-kept").textContent = data.kept_on_erasure;
  fill("#mydata-body",
    data.erased_at ? el("p", { class: "notice info" }, `You erased your personal data on ${formatDate(data.erased_at)}; brands receive no profile of you since.`) : null,
    el("p", { class: "small muted" }, `Consents judged at the chain's time, ${formatDate(data.chain_time)} (block ${data.block_number}).`),
    el("div", { class: "mydata" }, data.categories.map((c) => category(c, data.profile[c.category]))));
}

function category(c, value) {
  return el("article", { class: "mydata-cat", dataset: { category: c.category } },
    el("h3", {}, TITLES[c.category] || c.category),
    values(c.category, value),
    el("p", { class: "small" }, el("b", {}, "May see it now: "),
      c.may_see.length
        ? chips(c.may_see.map((v) => `${v.brand_name || v.brand} · ${v.purpose}${v.expires_at ? ` · until ${formatDate(v.expires_at, false)}` : ""}`))
        : el("span", { class: "muted" }, "no brand")),
    c.saw.length
      ? el("details", { class: "mydata-saw" },
        el("summary", { class: "small" }, `Seen ${plural(c.saw.length, "time")}, last ${formatDate(c.saw[0].at)}`),
        el("ul", { class: "small" }, c.saw.map((s) => el("li", {},
          `${s.brand_name || s.brand} · ${s.purpose} · ${formatDate(s.at)} · paid you ${cash(s.price)} CASH · `,
          txLink(session.cfg, s.tx_hash)))))
      : el("p", { class: "small muted" }, "No brand has seen it."));
}

function values(name, value) {
  if (value === null || value === undefined) return el("p", { class: "empty" }, "Nothing known yet.");
  if (name === "styles") {
    return value.length ? chips(value.map((s) => `${s.style} ${s.score.toFixed(2)}`)) : el("p", { class: "empty" }, "No style yet.");
  }
  const entries = Object.entries(value);
  if (!entries.length) return el("p", { class: "empty" }, "Nothing known yet.");
  return el("dl", { class: "why-values" }, entries.flatMap(([k, v]) => [
    el("dt", {}, k.replaceAll("_", " ")),
    el("dd", {}, shown(k, v)),
  ]));
}

function shown(key, v) {
  if (v === null || v === undefined) return el("span", { class: "muted" }, "not given");
  if (key === "total_won") return `${formatWon(v)} won`;
  if (key.endsWith("_at")) return formatDate(v);
  return typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : String(v);
}

// -- editing, erasing, exporting -------------------------------------------------------------------

function wire() {
  if (view.wired) return;
  view.wired = true;
  $("#mydata-edit").addEventListener("click", () => openForm());
  $("#personal-cancel").addEventListener("click", () => { $("#personal-form").hidden = true; });
  $("#personal-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy($("#personal-save"), "#personal-msg", save);
  });
  $("#mydata-erase").addEventListener("click", () => {
    $("#erase-confirm").hidden = false;
    $("#erase-understood").checked = false;
    $("#erase-go").disabled = true;
    $("#erase-understood").focus();
  });
  $("#erase-understood").addEventListener("change", (ev) => { $("#erase-go").disabled = !ev.target.checked; });
  $("#erase-cancel").addEventListener("click", () => { $("#erase-confirm").hidden = true; });
  $("#erase-go").addEventListener("click", (ev) => busy(ev.target, "#erase-msg", erase));
  $("#mydata-export").addEventListener("click", (ev) => busy(ev.target, "#mydata-msg", download));
}

function openForm() {
  const p = (view.data && view.data.profile) || {};
  const now = { ...(p.contact || {}), ...(p.demographics || {}) };
  fill("#personal-fields", PERSONAL.map(([key, label, type]) =>
    el("label", {}, label, el("input", { id: `personal-${key}`, name: key, type, value: now[key] ?? "", autocomplete: "off" }))));
  $("#personal-msg").replaceChildren();
  $("#personal-form").hidden = false;
}

async function save() {
  const body = {};
  for (const [key, , type] of PERSONAL) {
    const text = $(`#personal-${key}`).value.trim();
    // An emptied field is cleared (null); a number field that does not parse goes as typed, for the API to name.
    body[key] = text === "" ? null : type === "number" && /^\d+$/.test(text) ? Number(text) : text;
  }
  await call("/me/personal", { method: "PATCH", body });
  $("#personal-form").hidden = true;
  notify("#mydata-msg", "ok", "Saved. Brands see these fields only under a consent that covers them.");
  await loadMyData();
}

async function erase() {
  const erased = await call("/me/data", { method: "DELETE" });
  $("#erase-confirm").hidden = true;
  fill("#upkeep-body"); // an erased field has nothing to confirm, and its upkeep earns nothing
  const cleared = erased.fields_cleared.length ? erased.fields_cleared.join(", ") : "no field (none was set)";
  fill("#mydata-body",
    el("div", { class: "notice ok", role: "status", id: "erase-done" },
      el("p", {}, `Erased: ${cleared}; ${plural(erased.purchase_items_erased, "purchase item")} and ${plural(erased.interest_events_erased, "interest event")}.`),
      el("p", {}, erased.kept),
      el("p", {}, "Your session ended with the erasure. ",
        el("button", { class: "secondary", id: "erase-sign-in", onclick: () => $("#sign-out").click() }, "Sign in again"))));
}

async function download() {
  const response = await call("/me/export", { raw: true });
  const blob = await response.blob();
  saveBlob(blob, `my-data-${(view.data?.address || "wallet").toLowerCase()}.json`);
  notify("#mydata-msg", "ok", `Downloaded everything held about you (${Math.ceil(blob.size / 1024)} KB of JSON).`);
}
