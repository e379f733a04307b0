// The auditor view's campaigns: every commitment on chain, its reveal, and whether it verifies (the audit's
// campaigns check re-derives arms and results from the revealed salt and the records).

import { el, explain, fill, formatDate, shortHex, table, txLink } from "./common.js";

function campaignVerdict(a) {
  if (a.verified === null) return el("span", { class: "badge neutral" }, "committed, not revealed yet");
  return el("span", { class: `badge ${a.verified ? "ok" : "bad"}` }, a.verified ? "verifies" : "does not verify");
}

/** Renders GET /audit/campaigns into `target` with `call` (the view's authenticated fetch) and the chain facts. */
export async function loadCampaignAudits(call, cfg, target = "#campaigns-audit-body") {
  try {
    const list = await call("/audit/campaigns");
    fill(target, table(["Campaign", "Holdout", "Window", "Committed", "Revealed", "Members", "Verdict"], list.map((a) =>
      el("tr", { "data-campaign-key": a.campaign_key },
        el("td", { title: a.campaign_key }, shortHex(a.campaign_key, 8, 6), el("div", { class: "small muted", title: a.brand }, `brand ${shortHex(a.brand)}`)),
        el("td", { class: "num" }, `${(a.holdout_bps / 100).toFixed(2)} %`),
        el("td", { class: "small" }, `${formatDate(a.starts_at)} → ${formatDate(a.ends_at)}`),
        el("td", { class: "small" }, formatDate(a.committed_at), el("div", {}, txLink(cfg, a.commit_tx))),
        el("td", { class: "small" }, a.revealed_at ? formatDate(a.revealed_at) : "—",
          a.reveal_tx ? el("div", {}, txLink(cfg, a.reveal_tx)) : null,
          a.salt ? el("div", { class: "muted", title: a.salt }, `salt ${shortHex(a.salt, 8, 6)}`) : null),
        el("td", { class: "num" }, a.members === null ? "—" : String(a.members)),
        el("td", {}, campaignVerdict(a),
          a.problems.length ? el("ul", { class: "small campaign-problems" }, a.problems.slice(0, 5).map((p) => el("li", {}, p))) : null))),
      { empty: "No campaign is committed on chain yet." }),
      el("p", { class: "small muted" }, "A campaign verifies when its commitment was mined before the start, the revealed salt and parameters open it, every member's arm re-derives from the salt, no holdout member got the offer, and the results re-derive from the purchases and hash to the revealed hash."));
  } catch (e) {
    fill(target, el("div", { class: "notice error" }, explain(e)));
  }
}
