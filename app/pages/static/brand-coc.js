// The brand console's Customer-Offer-Channel map: the rules' audiences (rows) × offers and channels (columns),
// each cell with its reach (deliveries, customers) and results (redemptions, conversions).

import { el, explain, fill, plural, table } from "./common.js";

function rate(cell) {
  return cell.conversion_rate === null ? "—" : `${(cell.conversion_rate * 100).toFixed(1)} %`;
}

function cellBody(cell) {
  if (!cell) return el("td", { class: "muted" }, "—");
  return el("td", {
    class: "coc-cell",
    "data-audience": cell.audience,
    "data-offer": String(cell.offer_id),
    "data-channel": cell.channel,
    title: `rules ${cell.rule_ids.join(", ")}`,
  },
  el("div", {}, el("strong", { class: "coc-customers" }, plural(cell.customers, "customer")),
    el("span", { class: "small muted" }, ` · ${plural(cell.deliveries, "delivery", "deliveries")}`)),
  el("div", { class: "small" },
    el("span", { class: "coc-redemptions" }, plural(cell.redemptions, "redemption")), " · ",
    el("span", { class: "coc-conversions" }, `${plural(cell.conversions, "conversion")} (${rate(cell)})`)));
}

/** Renders GET /brands/me/coc-map into `target` with `call` (the console's authenticated fetch). */
export async function loadCocMap(call, target = "#coc-body") {
  try {
    const map = await call("/brands/me/coc-map");
    const offers = new Map(map.offers.map((o) => [o.id, o]));
    const columns = [];
    for (const c of map.cells) {
      if (!columns.some((k) => k.offer_id === c.offer_id && k.channel === c.channel)) {
        columns.push({ offer_id: c.offer_id, channel: c.channel });
      }
    }
    columns.sort((a, b) => a.offer_id - b.offer_id || a.channel.localeCompare(b.channel));
    const at = (audience, column) =>
      map.cells.find((c) => c.audience === audience && c.offer_id === column.offer_id && c.channel === column.channel);
    fill(target, table(
      ["Customers (rule audience)", ...columns.map((k) => `${(offers.get(k.offer_id) || { name: `offer ${k.offer_id}` }).name} · ${k.channel}`)],
      map.audiences.map((audience) => el("tr", { "data-audience": audience },
        el("td", { class: "coc-audience" }, el("strong", {}, audience)),
        ...columns.map((k) => cellBody(at(audience, k))))),
      { empty: "No rules yet: the map fills as rules deliver offers." }),
    el("p", { class: "small muted" },
      "A conversion is a purchase at your brand after the delivery, before the offer ends. Rows are the audiences your rules aimed at, never a grade read from a customer who did not consent to share it."));
  } catch (e) {
    fill(target, el("div", { class: "notice error" }, explain(e)));
  }
}
