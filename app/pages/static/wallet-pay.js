// Paying with CASH: a brand, an amount and an optional purchase reference, or a reward of the catalogue; the API
// quotes an EIP-2612 permit and a Payment, the wallet signs both, the API relays them (no gas for me).

import { $, busy, clear, el, fill, formatDate, notify, parseCash, table, txLink } from "./common.js";
import { call, cash, session } from "./shell.js";

const pay = { signer: null, paid: async () => {} };

// `paid` reloads what a payment changes elsewhere on the page (my balance).
export async function loadPay(signer, brands, paid) {
  pay.signer = signer;
  pay.paid = paid;
  fillPayForm(brands);
  await Promise.all([loadCatalogue(), loadPayments()]);
}

function fillPayForm(brands) {
  fill("#pay-brand", brands.length
    ? [el("option", { value: "", disabled: true, selected: true }, "Choose a brand…"), ...brands.map((b) => el("option", { value: b.id }, b.name))]
    : [el("option", { value: "", disabled: true, selected: true }, "No brand takes CASH yet")]);
  const form = $("#pay-form");
  form.onsubmit = (ev) => {
    ev.preventDefault();
    busy($("#pay-submit"), "#pay-msg", async () => {
      if (!$("#pay-brand").value) throw new Error("Choose the brand to pay.");
      const request = { brand_id: Number($("#pay-brand").value), amount: parseCash($("#pay-amount").value, session.cfg.token_decimals).toString() };
      if (request.amount === "0") throw new Error("Enter an amount above zero.");
      const reference = $("#pay-reference").value.trim();
      if (reference) request.purchase_external_id = reference;
      await payFor(request, "#pay-msg");
      form.reset();
    });
  };
}

// One flow for a free amount and a reward: quote, sign the permit and the Payment, relay, show the transaction.
async function payFor(request, target) {
  const q = await call("/me/payments/quote", { method: "POST", body: request });
  const permitSignature = await pay.signer.signTypedData(q.permit);
  const paymentSignature = await pay.signer.signTypedData(q.payment);
  const paid = await call("/me/payments", {
    method: "POST",
    body: { reference: q.reference, permit_signature: permitSignature, payment_signature: paymentSignature },
  });
  await Promise.all([loadPayments(), pay.paid()]);
  for (const other of ["#pay-msg", "#catalogue-msg"]) if (other !== target) clear(other); // one receipt shown
  fill(target, el("div", { class: "notice ok", role: "status", id: "pay-done" },
    `Paid ${cash(paid.amount)} CASH to ${paid.brand_name || q.brand_name}${paid.catalogue_item_title ? ` for “${paid.catalogue_item_title}”` : ""}: transaction `,
    txLink(session.cfg, paid.tx_hash), "."));
}

async function loadCatalogue() {
  try {
    const items = await call("/rewards-catalogue");
    fill("#catalogue-body", table(
      ["Reward", "Brand", { label: "Price", class: "num" }, ""],
      items.map((i) => {
        const redeem = el("button", { class: "secondary", dataset: { item: i.id } }, "Redeem");
        redeem.addEventListener("click", () => busy(redeem, "#catalogue-msg", () => payFor({ catalogue_item_id: i.id }, "#catalogue-msg")));
        return el("tr", { dataset: { item: i.id } },
          el("td", {}, el("b", {}, i.title), i.description ? el("div", { class: "small muted" }, i.description) : null),
          el("td", {}, i.brand_name),
          el("td", { class: "num" }, `${cash(i.price)} CASH`),
          el("td", {}, redeem));
      }),
      { empty: "No brand sells rewards for CASH yet." }));
  } catch (e) {
    notify("#catalogue-body", "error", e);
  }
}

async function loadPayments() {
  try {
    const payments = await call("/me/payments");
    fill("#payments-body", table(
      ["Paid", "Brand", "For", { label: "Amount", class: "num" }, "Transaction"],
      payments.map((p) => el("tr", { dataset: { reference: p.reference } },
        el("td", {}, formatDate(p.paid_at)),
        el("td", {}, p.brand_name || p.brand),
        el("td", {}, p.catalogue_item_title || p.purchase_external_id || el("span", { class: "muted" }, "—")),
        el("td", { class: "num" }, `${cash(p.amount)} CASH`),
        el("td", {}, txLink(session.cfg, p.tx_hash)))),
      { empty: "You have not paid with CASH yet." }));
  } catch (e) {
    notify("#payments-body", "error", e);
  }
}
