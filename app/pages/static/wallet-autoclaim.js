// The wallet's automatic claims: my opt-in (off until I tick it) and what the relayer's batches paid me.

import { $, api, el, fill, formatCash, notify, table, txLink } from "./common.js";

const view = { token: null, cfg: null };

// Loads my choice into #auto-claim-toggle and the claims paid into #auto-claim-list; wires the toggle once.
export async function loadAutoClaim(token, cfg) {
  view.token = token;
  view.cfg = cfg;
  const toggle = $("#auto-claim-toggle");
  if (!toggle.dataset.wired) {
    toggle.addEventListener("change", () => chooseAutoClaim(toggle.checked));
    toggle.dataset.wired = "true";
  }
  try {
    showAutoClaim(await api("/me/auto-claim", { token }));
  } catch (e) {
    notify("#auto-claim-msg", "error", e);
  }
}

async function chooseAutoClaim(enabled) {
  const toggle = $("#auto-claim-toggle");
  toggle.disabled = true;
  try {
    const choice = await api("/me/auto-claim", { method: "PUT", token: view.token, body: { enabled } });
    showAutoClaim(choice);
    notify("#auto-claim-msg", "ok", enabled
      ? "Automatic claims are on: after each epoch is final, the relayer claims what you are owed to your address."
      : "Automatic claims are off: claim with the button above when you like.");
  } catch (e) {
    toggle.checked = !enabled; // the server kept the previous choice
    notify("#auto-claim-msg", "error", e);
  } finally {
    toggle.disabled = false;
  }
}

function showAutoClaim(choice) {
  const toggle = $("#auto-claim-toggle");
  toggle.checked = choice.enabled;
  toggle.disabled = false;
  const rows = choice.claims.map((c) => el("tr", {},
    el("td", { class: "num" }, String(c.epoch)),
    el("td", { class: "num" }, formatCash(c.amount)),
    el("td", {}, txLink(view.cfg, c.tx_hash))));
  fill("#auto-claim-list", choice.claims.length
    ? table([{ label: "Epoch", class: "num" }, { label: "CASH paid", class: "num" }, "Transaction"], rows)
    : null);
}
