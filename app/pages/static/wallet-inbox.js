// The wallet's inbox: offers delivered to me (newest first), why each reached me, mark read, redeem.

import { api, busy, chips, el, explain, fill, formatDate, notify, plural } from "./common.js";

const PAGE = 10;
const view = { token: null, offset: 0 };

// Loads one page of the inbox into #inbox-body (and the unread count into #inbox-unread).
export async function loadInbox(token, offset = view.offset) {
  view.token = token;
  view.offset = offset;
  try {
    const page = await api("/me/inbox", { token, query: { limit: PAGE, offset } });
    render(page);
  } catch (e) {
    fill("#inbox-body", el("div", { class: "notice error", role: "alert" }, explain(e)));
  }
}

function render(page) {
  fill("#inbox-unread", page.total ? `${plural(page.unread, "unread offer")} of ${page.total}` : "");
  if (!page.items.length) {
    fill("#inbox-body", el("p", { class: "empty" }, "No offers yet. Brands you consented to may send you some."));
    return;
  }
  const pager = el("div", { class: "actions spaced" },
    page.offset > 0 ? el("button", { class: "secondary", id: "inbox-newer", onclick: () => loadInbox(view.token, Math.max(0, page.offset - PAGE)) }, "Newer") : null,
    page.offset + page.items.length < page.total ? el("button", { class: "secondary", id: "inbox-older", onclick: () => loadInbox(view.token, page.offset + PAGE) }, "Older") : null);
  fill("#inbox-body", el("ul", { class: "inbox" }, page.items.map(entry)), pager);
}

function entry(item) {
  const o = item.offer;
  const unread = !item.read_at;
  const why = el("div", { class: "why", hidden: true });
  const msg = el("div", { class: "inbox-msg" });
  const redeemable = o.kind === "gift" || o.kind === "coupon";
  const node = el("li", { class: unread ? "inbox-item unread" : "inbox-item", dataset: { delivery: item.id, kind: o.kind } },
    el("div", { class: "inbox-head" },
      el("b", {}, o.name), " ", el("span", { class: "muted small" }, `from ${o.brand} · ${formatDate(item.delivered_at)}`),
      unread ? el("span", { class: "tag" }, "new") : null),
    el("p", { class: "inbox-what" }, o.description),
    el("p", { class: "small muted inbox-terms" }, `Terms: ${o.terms} · valid until ${formatDate(o.valid_until, false)}`),
    el("p", { class: "small" }, item.how_to_use),
    el("div", { class: "actions" },
      el("button", { class: "link why-toggle", onclick: (ev) => busy(ev.target, msg, () => toggleWhy(item, why, node)) }, "Why am I seeing this?"),
      redeemable ? el("button", { class: "redeem", onclick: (ev) => busy(ev.target, msg, () => redeem(item, msg)) },
        o.kind === "coupon" ? "Show my code" : "Redeem") : null),
    why, msg);
  return node;
}

async function toggleWhy(item, box, node) {
  if (!box.hidden) {
    box.hidden = true;
    return;
  }
  const detail = await api(`/me/inbox/${item.id}`, { token: view.token });
  fill(box, explainWhy(detail.why));
  box.hidden = false;
  if (!item.read_at) {
    const read = await api(`/me/inbox/${item.id}/read`, { method: "POST", token: view.token });
    item.read_at = read.read_at;
    node.classList.remove("unread");
    node.querySelector(".tag")?.remove();
  }
}

function explainWhy(why) {
  const trigger = why.trigger ? `${why.trigger.replace("_", " ")}${why.event ? ` (${why.event.replaceAll("_", " ")})` : ""}` : why.source;
  if (!why.reads_data) {
    return [el("p", {}, `Sent to every customer of this brand (${trigger}). None of your data was read to choose you.`)];
  }
  const c = why.consent || {};
  const used = Object.entries(why.data_used || {});
  return [
    el("p", {}, `Chosen by ${trigger}, under your consent for ${c.purpose}, which covers the data read:`),
    chips(c.categories || []),
    c.receipt_id ? el("p", { class: "small muted" }, `Consent receipt ${c.receipt_id}`) : null,
    used.length
      ? el("dl", { class: "why-values" }, used.flatMap(([k, v]) => [el("dt", {}, k.replaceAll("_", " ")), el("dd", {}, String(v))]))
      : el("p", { class: "small muted" }, "No value of yours was kept with this delivery."),
  ];
}

async function redeem(item, msg) {
  const result = await api(`/me/inbox/${item.id}/redeem`, { method: "POST", token: view.token });
  if (result.code) {
    fill(msg, el("div", { class: "notice ok", role: "status" }, "Show this code at the till: ", el("b", { class: "coupon-code" }, result.code)));
  } else {
    notify(msg, "ok", result.message);
  }
}
