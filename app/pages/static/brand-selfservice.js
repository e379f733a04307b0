// The brand's self-service: apply with the wallet and collect the first API key; spending, price floor, funding.

import { $, api, busy, el, explain, fill, formatDate, notify, parseCash, stat } from "./common.js";
import { call, cash, session } from "./shell.js";
import { injectedSigner } from "./injected.js";

const APPLICATION = "ledger.brand.application"; // sessionStorage: the application's status token, this tab only

// -- before sign-in: the application -----------------------------------------------------------------

async function applyWithWallet() {
  const name = $("#apply-name").value.trim();
  if (!name) throw new Error("Enter the brand's name as customers will see it.");
  if (!window.ethereum) throw new Error("No browser wallet found: install one (or open this page in a wallet's browser) to apply.");
  const signer = await injectedSigner();
  const issued = await api("/auth/siwe/nonce", { method: "POST", body: { address: signer.address } });
  const signature = await signer.signMessage(issued.message);
  const created = await api("/brand-applications", { method: "POST", body: { name, message: issued.message, signature } });
  sessionStorage.setItem(APPLICATION, created.token);
  $("#apply-check").hidden = false;
  showApplication(created.application);
}

function showApplication(a) {
  const when = a.decided_at ? ` on ${formatDate(a.decided_at)}` : "";
  const says = {
    pending: el("div", { class: "notice info" }, `Application for ${a.name} (${a.address}) is pending: the operator has not decided yet.`),
    refused: el("div", { class: "notice error" }, `Application for ${a.name} was refused${when}: ${a.reason}. You may apply again.`),
    approved: el("div", { class: "notice ok" }, `Application for ${a.name} was approved${when}.`,
      a.key_collected ? " Its API key was collected already: ask the operator for a new one if it is lost." : ""),
  }[a.status];
  const collect = a.status === "approved" && !a.key_collected
    ? el("div", { class: "actions" }, el("button", { type: "button", id: "apply-key" }, "Get my API key")) : null;
  fill("#apply-status", says, collect);
  if (collect) $("#apply-key").addEventListener("click", (ev) => busy(ev.target, "#apply-msg", collectKey));
}

async function checkApplication() {
  const token = sessionStorage.getItem(APPLICATION);
  if (!token) throw new Error("No application from this tab: apply first.");
  showApplication(await api("/brand-applications/status", { method: "POST", body: { token } }));
}

// The key is shown once, then used: it fills the sign-in form, which signs in with it as with any key.
async function collectKey() {
  const token = sessionStorage.getItem(APPLICATION);
  const created = await api("/brand-applications/keys", { method: "POST", body: { token } });
  sessionStorage.removeItem(APPLICATION);
  fill("#apply-status", el("div", { class: "notice ok" }, "Your API key, shown this once: keep it somewhere safe. ",
    el("code", { id: "apply-new-key" }, created.key)),
  el("div", { class: "actions" }, el("button", { type: "button", id: "apply-enter" }, "I have saved it: sign in")));
  $("#api-key").value = created.key;
  $("#apply-enter").addEventListener("click", () => $("#signin-form").requestSubmit());
}

export function initApplication() {
  $("#apply-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy($("#apply-submit"), "#apply-msg", applyWithWallet);
  });
  $("#apply-check").addEventListener("click", (ev) => busy(ev.target, "#apply-msg", checkApplication));
  $("#apply-check").hidden = !sessionStorage.getItem(APPLICATION);
  $("#apply-submit").disabled = false;
}

// -- signed in: spending, price floor, funding ----------------------------------------------------------

async function loadSpending() {
  try {
    const s = await call("/brands/me/spending");
    fill("#spending-body", el("div", { class: "stats" },
      stat("Deposited", cash(s.deposited), "CASH", "funded and deposited"),
      stat("Accesses", cash(s.access_spending), "CASH", "prices of recorded accesses"),
      stat("Offers", cash(s.offer_spending), "CASH", "offer bonuses paid"),
      stat("Remaining", cash(s.remaining), "CASH", "on chain, less what is owed")));
    $("#spending-note").textContent = s.indexed_block !== null ? `as of block ${s.indexed_block}` : "";
  } catch (e) {
    fill("#spending-body", el("div", { class: "notice error" }, explain(e)));
  }
}

async function loadFloor() {
  try {
    const f = await call("/brands/me/price-floor");
    $("#floor-now").textContent = `${cash(f.floor)} CASH per access`;
  } catch (e) {
    notify("#floor-msg", "error", e);
  }
}

async function saveFloor() {
  let units;
  try {
    units = parseCash($("#floor-amount").value, session.cfg.token_decimals);
  } catch (e) {
    throw new Error(`Price floor: ${e.message}`);
  }
  try {
    const f = await call("/brands/me/price-floor", { method: "PUT", body: { floor: units.toString() } });
    $("#floor-now").textContent = `${cash(f.floor)} CASH per access`;
    notify("#floor-msg", "ok", `Price floor set to ${cash(f.floor)} CASH per access.`);
  } catch (e) {
    if (e.status === 422) throw new Error(`That price floor was refused: ${e.message}. Nothing was changed.`);
    throw e;
  }
}

// Approve and deposit, both signed by the brand's own browser wallet: its key never reaches the programme.
async function fundBudget() {
  const units = parseCash($("#fund-amount").value, session.cfg.token_decimals);
  if (units === 0n) throw new Error("Enter an amount above zero.");
  if (!window.ethereum) throw new Error("No browser wallet found: funding is signed by the brand's own wallet.");
  const own = await injectedSigner();
  const brand = await call("/brands/me");
  if (window.ethers.getAddress(brand.address) !== own.address) {
    throw new Error(`The browser wallet is ${own.address}, not the brand's ${brand.address}: switch accounts in the wallet.`);
  }
  const signer = await new window.ethers.BrowserProvider(window.ethereum).getSigner();
  const token = new window.ethers.Contract(session.cfg.token, ["function approve(address spender, uint256 amount) returns (bool)"], signer);
  const distributor = new window.ethers.Contract(session.cfg.distributor, ["function deposit(address brand, uint256 amount)"], signer);
  notify("#fund-msg", "info", "Approve the distributor for this amount in your wallet…");
  await (await token.approve(session.cfg.distributor, units)).wait();
  notify("#fund-msg", "info", "Now the deposit; waiting for the block…");
  const receipt = await (await distributor.deposit(own.address, units)).wait();
  await loadSpending();
  notify("#fund-msg", "ok", `Deposited ${cash(units)} CASH in block ${receipt.blockNumber}.`);
}

export function initSelfService() {
  $("#floor-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy($("#floor-submit"), "#floor-msg", saveFloor);
  });
  $("#fund-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy($("#fund-submit"), "#fund-msg", fundBudget);
  });
  $("#fund-box").hidden = !window.ethereum;
  return Promise.all([loadSpending(), loadFloor()]);
}

