// The customer wallet: sign in with Ethereum, see what is known and who used it, manage consents, claim CASH.

import {
  $, api, busy, cashNumber, chips, clear, el, explain, fill, formatDate, formatWon,
  makeChart, notify, parseCash, PALETTE, plural, saveBlob, shortHex, stat, table, toUnits, txLink,
} from "./common.js";
import { call, cash, enterView, onSignOut, session, startPage } from "./shell.js";
import { injectedSigner } from "./injected.js";
import { loadAutoClaim } from "./wallet-autoclaim.js";
import { loadInbox } from "./wallet-inbox.js";
import { loadMyData } from "./wallet-mydata.js";
import { loadPay } from "./wallet-pay.js";

const ethers = window.ethers;
const DEV_KEY = "ledger.devWallet.key"; // localStorage: the development wallet's private key
const SESSION = "ledger.wallet.session"; // sessionStorage: {token, address, expires_at, kind}

const state = { signer: null, address: null, brands: new Map(), brandList: [] };

// -- wallets: one shape for the injected wallet and the built-in development wallet -------------

function devWallet() {
  let key = localStorage.getItem(DEV_KEY);
  if (!key) {
    key = ethers.Wallet.createRandom().privateKey;
    localStorage.setItem(DEV_KEY, key);
  }
  return new ethers.Wallet(key);
}

function typesOf(doc) {
  const types = { ...doc.types };
  delete types.EIP712Domain; // ethers derives the domain type itself
  return types;
}

function devSigner() {
  const wallet = devWallet();
  return {
    kind: "dev",
    address: wallet.address,
    signMessage: (message) => wallet.signMessage(message),
    signTypedData: (doc) => wallet.signTypedData(doc.domain, typesOf(doc), doc.message),
  };
}

function showDevWallet() {
  const wallet = devWallet();
  $("#devwallet").hidden = false;
  $("#dev-address").textContent = wallet.address;
  $("#dev-key").hidden = true;
}

// -- sign-in -----------------------------------------------------------------------------------

async function signIn(signer) {
  const issued = await api("/auth/siwe/nonce", { method: "POST", body: { address: signer.address } });
  const signature = await signer.signMessage(issued.message);
  let signedIn;
  try {
    signedIn = await api("/auth/siwe/verify", { method: "POST", body: { message: issued.message, signature } });
  } catch (e) {
    // explain() reads not_authenticated as an ended session; here the signature itself was refused.
    if (e && e.code === "not_authenticated") {
      throw new Error(`Sign-in refused for ${signer.address}: ${e.message}. A smart-contract wallet accepts only the signatures of its owner(s).`);
    }
    throw e;
  }
  sessionStorage.setItem(SESSION, JSON.stringify({ ...signedIn, kind: signer.kind }));
  await enter(signer, signedIn.token);
}

async function enter(signer, token) {
  state.signer = signer;
  session.token = token;
  state.address = signer.address;
  $("#claim-own").hidden = signer.kind !== "injected";
  const who = (signer.kind === "dev" ? "dev wallet " : "") + shortHex(signer.address);
  await enterView({ gate: "#connect", view: "#signed-in", who, title: signer.address }, loadAll);
}

async function signOut() {
  try {
    if (session.token) await call("/auth/logout", { method: "POST" });
  } catch {
    /* the session ends here either way */
  }
  sessionStorage.removeItem(SESSION);
}

async function resume() {
  const saved = JSON.parse(sessionStorage.getItem(SESSION) || "null");
  if (!saved) return false;
  let signer = null;
  if (saved.kind === "dev" && session.cfg.dev_wallet_allowed) signer = devSigner();
  if (saved.kind === "injected" && window.ethereum) {
    const accounts = await window.ethereum.request({ method: "eth_accounts" });
    if (accounts[0] && ethers.getAddress(accounts[0]) === ethers.getAddress(saved.address)) signer = await injectedSigner();
  }
  if (!signer || ethers.getAddress(signer.address) !== ethers.getAddress(saved.address)) {
    sessionStorage.removeItem(SESSION);
    return false;
  }
  try {
    await api("/auth/me", { token: saved.token });
  } catch {
    sessionStorage.removeItem(SESSION);
    return false;
  }
  await enter(signer, saved.token);
  return true;
}

// -- loading everything --------------------------------------------------------------------------

function brandName(address) {
  if (!address) return "—";
  return state.brands.get(address.toLowerCase()) || shortHex(address);
}

async function loadAll() {
  try {
    state.brandList = await api("/pages/brands");
    state.brands = new Map(state.brandList.map((b) => [b.address.toLowerCase(), b.name]));
  } catch {
    state.brandList = [];
  }
  fillGrantForm();
  await Promise.all([
    loadMoney(), loadProfile(), loadInterests(), loadConsents(), loadAccesses(), loadRewards(), loadInbox(session.token, 0),
    loadAutoClaim(session.token, session.cfg), loadPay(state.signer, state.brandList, loadMoney),
  ]);
  // After the rest, not beside it: it reads the store through DuckDB as /me/interests does, and two such
  // readers next to the mirror's writes in one process are what SQLite's per-process locks handle worst.
  await loadMyData();
}

// Each section fails on its own, with its own sentence, and the rest of the page still works.
async function section(target, load) {
  try {
    await load();
  } catch (e) {
    if (e && e.code === "not_authenticated") {
      sessionStorage.removeItem(SESSION);
      notify("#page-error", "error", "Your session has ended. Please sign in again.");
    }
    fill(target, el("div", { class: "notice error", role: "alert" }, explain(e)));
  }
}

async function loadMoney() {
  await section("#money-stats", async () => {
    const [balance, claim] = await Promise.all([call("/me/balance"), call("/me/claim")]);
    state.claim = claim;
    fill(
      "#money-stats",
      stat("Balance", cash(balance.balance), "CASH", "in your wallet, on chain"),
      stat("Claimable", cash(claim.claimable), "CASH", claim.epoch ? `settled up to epoch ${claim.epoch}` : "no epoch settled yet"),
      stat("Earned in total", cash(claim.cumulative), "CASH", `claimed so far: ${cash(claim.claimed)}`),
    );
    showClaimButtons();
    $("#money-updated").textContent = "updated " + formatDate(new Date().toISOString());
  });
}

// After a claim too: busy() re-enables the button it ran from, but with nothing left to claim both stay off.
function showClaimButtons() {
  const claimable = state.claim ? toUnits(state.claim.claimable) : 0n;
  const relayed = $("#claim-relayed");
  relayed.disabled = claimable === 0n;
  relayed.textContent = claimable === 0n ? "Nothing to claim" : `Claim ${cash(claimable)} CASH`;
  $("#claim-own").disabled = claimable === 0n;
}

async function loadProfile() {
  await section("#profile-body", async () => {
    const profile = await call("/me/profile");
    const c = profile.current;
    if (!c) {
      fill("#profile-body", el("p", { class: "empty" }, "Not graded yet: your tier and scores appear after your first purchase has been settled in an epoch."));
      return;
    }
    const history = profile.history.slice().reverse().map((h) =>
      el("tr", {},
        el("td", {}, `#${h.epoch}`), el("td", {}, formatDate(h.as_of, false)), el("td", {}, h.tier), el("td", {}, h.segment),
        el("td", { class: "num" }, `${h.r}·${h.f}·${h.m}`), el("td", { class: "num" }, `${(h.cashback_bps / 100).toFixed(2)} %`)));
    fill(
      "#profile-body",
      el("div", { class: "stats" },
        stat("Tier", c.tier, null, `${(c.cashback_bps / 100).toFixed(2)} % cashback`),
        stat("Segment", c.segment, null, `as of epoch ${c.epoch}, ${formatDate(c.as_of, false)}`)),
      el("h3", { class: "spaced" }, "RFM scores"),
      el("div", { class: "scores" },
        el("div", { class: "score" }, el("b", {}, c.r), el("span", {}, "recency")),
        el("div", { class: "score" }, el("b", {}, c.f), el("span", {}, "frequency")),
        el("div", { class: "score" }, el("b", {}, c.m), el("span", {}, "monetary"))),
      el("p", { class: "small muted" },
        `Last purchase ${plural(c.recency_days, "day")} before the epoch's end · ${plural(c.frequency, "purchase")} counted · ${formatWon(c.monetary_total)} spent.`),
      el("h3", {}, "History"),
      table(["Epoch", "As of", "Tier", "Segment", { label: "R·F·M", class: "num" }, { label: "Cashback", class: "num" }], history),
    );
  });
}

function bars(items, max) {
  const top = max || Math.max(...items.map((i) => i.score), 1e-9);
  return el("div", { class: "bars" }, items.map((i) =>
    el("div", { class: "bar" },
      el("span", {}, i.value),
      el("span", { class: "track" }, el("span", { class: "fill", style: `width:${Math.max(2, Math.round((100 * i.score) / top))}%` })),
      el("span", { class: "num" }, i.score.toFixed(1)))));
}

async function loadInterests() {
  await section("#interests-body", async () => {
    const data = await call("/me/interests");
    const cats = (data.categories || []).slice().sort((a, b) => b.score - a.score);
    const styles = (data.styles || []).slice().sort((a, b) => b.score - a.score);
    if (!cats.length && !styles.length) {
      fill("#interests-body", el("p", { class: "empty" }, "Nothing recorded yet: your interests build up from what you look at, wish for, put in a cart and buy."));
      return;
    }
    fill(
      "#interests-body",
      (data.top_styles || []).length ? el("p", {}, "Top styles: ", chips(data.top_styles)) : null,
      el("h3", {}, "Categories"), cats.length ? bars(cats.slice(0, 8)) : el("p", { class: "empty" }, "None yet."),
      el("h3", { class: "spaced" }, "Styles"), styles.length ? bars(styles.slice(0, 8)) : el("p", { class: "empty" }, "None yet."),
      el("p", { class: "small muted" }, `Scores weigh recent signals more; computed ${formatDate(data.as_of)}.`),
    );
  });
}

// -- consents ------------------------------------------------------------------------------------

function expiryText(moment) {
  if (!moment) return "no end date";
  const expired = new Date(moment) <= Date.now();
  return (expired ? "ended " : "until ") + formatDate(moment, false);
}

// A consent's standing as the customer must read it (on chain, in force, failed to reach the chain).
function consentBadge(c) {
  // A grant the chain lost (a crash or reorg) and the relayer could not send again: the customer must know.
  if (c.status === "failed") return el("span", { class: "badge warn", title: "It never reached the chain; grant again" }, "failed: not on chain, grant again");
  if (c.status !== "active") return el("span", { class: "badge neutral" }, c.status === "withdrawn" ? "revoked" : c.status);
  const oc = c.on_chain;
  if (oc.expires_at && new Date(oc.expires_at) <= Date.now()) return el("span", { class: "badge warn" }, "expired");
  if (!oc.in_force) return el("span", { class: "badge warn" }, "not in force");
  return el("span", { class: "badge ok" }, "active");
}

async function loadConsents() {
  await section("#consents-body", async () => {
    const statuses = $("#show-ended").checked ? ["active", "failed", "withdrawn", "superseded"] : ["active", "failed"];
    const list = await call("/consents", { query: { status: statuses } });
    const rows = [];
    for (const c of list) {
      const active = c.status === "active";
      const oc = c.on_chain;
      const row = el("tr", { dataset: { receipt: c.receipt_id, brand: c.brand.name, purpose: c.purpose } },
        el("td", {}, el("b", {}, c.brand.name), el("div", { class: "addr small muted" }, shortHex(c.brand.address))),
        el("td", {}, c.purpose),
        el("td", {}, active ? chips(oc.categories) : el("span", { class: "muted" }, "—")),
        el("td", { class: "num" }, active ? cash(oc.price) : "—"),
        el("td", {}, active ? expiryText(oc.expires_at) : formatDate(c.withdrawn_at || c.created_at, false)),
        el("td", {}, consentBadge(c)),
        el("td", {}, txLink(session.cfg, active ? c.grant_tx_hash : c.withdrawal_tx_hash || c.grant_tx_hash)),
        el("td", {},
          el("div", { class: "actions" },
            active ? el("button", { class: "secondary", onclick: (ev) => openNarrow(ev.target, c) }, "Narrow") : null,
            active ? el("button", { class: "danger", onclick: (ev) => revoke(ev.target, c) }, "Revoke") : null,
            el("button", { class: "link", onclick: (ev) => downloadReceipt(ev.target, c) }, "Receipt"))));
      rows.push(row);
    }
    fill("#consents-body", table(
      ["Brand", "Purpose", "Data", { label: "Price / access", class: "num" }, "Ends", "Status", "Transaction", ""],
      rows,
      { empty: "You have not given any consent. Brands see nothing about you until you do." },
    ));
  });
}

// Typed data from the API, signed in the browser, relayed by the API: one path for every change.
async function signAndSend(request) {
  const prepared = await call("/consents/typed-data", { method: "POST", body: request });
  const signature = await state.signer.signTypedData(prepared.typed_data);
  return call("/consents", { method: "POST", body: { request_id: prepared.request_id, signature } });
}

function endOfDay(dateText) {
  return dateText ? new Date(`${dateText}T23:59:59`).toISOString() : undefined;
}

// Consent is an active choice (GDPR art. 4(11), CJEU Planet49): nothing is chosen for the customer, not
// the brand, not the purpose, not one kind of data; the button says what is still missing.
function fillGrantForm() {
  const cfg = session.cfg;
  const prompt = (text) => el("option", { value: "", disabled: true, selected: true }, text);
  fill("#grant-brand", state.brandList.length
    ? [prompt("Choose a brand…"), ...state.brandList.map((b) => el("option", { value: b.id }, b.name))]
    : [el("option", { value: "" }, "no brand registered yet")]);
  fill("#grant-purpose", prompt("Choose a purpose…"), cfg.purposes.map((p) => el("option", { value: p }, p)));
  fill("#grant-categories", cfg.categories.map((c) =>
    el("label", {}, el("input", { type: "checkbox", name: "category", value: c }), c)));
  showGrantMissing();
}

function grantCategories() {
  return [...document.querySelectorAll("#grant-categories input:checked")].map((i) => i.value);
}

function grantMissing() {
  const missing = [];
  if (!$("#grant-brand").value) missing.push("a brand");
  if (!$("#grant-purpose").value) missing.push("a purpose");
  if (!grantCategories().length) missing.push("at least one kind of data");
  return missing;
}

function showGrantMissing() {
  const missing = grantMissing();
  const last = missing.pop();
  $("#grant-submit").disabled = Boolean(last);
  $("#grant-missing").textContent = last ? `To grant, choose ${missing.length ? `${missing.join(", ")} and ${last}` : last}.` : "";
}

async function grant(event) {
  event.preventDefault();
  const missing = grantMissing();
  if (missing.length) {
    showGrantMissing();
    return;
  }
  let granted = false;
  await busy($("#grant-submit"), "#consent-msg", async () => {
    const categories = grantCategories();
    const brand = $("#grant-brand").value;
    const expires_at = endOfDay($("#grant-expiry").value);
    if (expires_at && new Date(expires_at) <= new Date()) throw new Error("The end date must be in the future.");
    const price = parseCash($("#grant-price").value, session.cfg.token_decimals);
    // An empty end date is the customer's choice of "no end", said explicitly to the API.
    const request = { action: "grant", brand: Number(brand), purpose: $("#grant-purpose").value, categories, price };
    if (expires_at) request.expires_at = expires_at; else request.no_end = true;
    const done = await signAndSend(request);
    await loadConsents();
    notify("#consent-msg", "ok", `Consent granted and recorded on chain in block ${done.block_number}.`);
    granted = true;
  });
  // A next consent is a choice of its own: the form starts empty again (and busy() re-enabled the button).
  if (granted) fillGrantForm();
  else showGrantMissing();
}

function openNarrow(button, c) {
  const row = button.closest("tr");
  if (row.nextElementSibling && row.nextElementSibling.classList.contains("detail")) {
    row.nextElementSibling.remove();
    return;
  }
  const current = c.on_chain.categories;
  const form = el("form", {},
    el("fieldset", {}, el("legend", {}, "Keep only"),
      el("div", { class: "checks" }, current.map((name) =>
        el("label", {}, el("input", { type: "checkbox", value: name, checked: true }), name)))),
    el("div", { class: "fields" }, el("label", {}, "End earlier (optional)", el("input", { type: "date", name: "expiry" }))),
    el("div", { class: "actions" }, el("button", { type: "submit" }, "Sign and narrow")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(form.querySelector("button"), "#consent-msg", async () => {
      const keep = [...form.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value);
      if (!keep.length) throw new Error("Keep at least one kind of data, or revoke the consent instead.");
      const expires_at = endOfDay(form.querySelector("input[name=expiry]").value);
      const request = { action: "narrow", brand: c.brand.id, purpose: c.purpose };
      if (keep.length !== current.length) request.categories = keep;
      if (expires_at) request.expires_at = expires_at;
      if (!request.categories && !request.expires_at) throw new Error("Untick a kind of data or choose an earlier end date.");
      const done = await signAndSend(request);
      await loadConsents();
      notify("#consent-msg", "ok", `Consent for ${c.brand.name} narrowed (block ${done.block_number}).`);
    });
  });
  row.after(el("tr", { class: "detail" }, el("td", { colspan: 8 }, form)));
}

async function revoke(button, c) {
  if (!confirm(`Revoke your consent to ${c.brand.name} for ${c.purpose}? It takes effect at once.`)) return;
  await busy(button, "#consent-msg", async () => {
    const done = await signAndSend({ action: "revoke", brand: c.brand.id, purpose: c.purpose });
    await loadConsents();
    notify("#consent-msg", "ok", `Consent to ${c.brand.name} for ${c.purpose} revoked (block ${done.block_number}). From now on it sees nothing of yours for this purpose.`);
  });
}

async function downloadReceipt(button, c) {
  await busy(button, "#consent-msg", async () => {
    const response = await call(`/consents/${c.receipt_id}/receipt`, { raw: true });
    saveBlob(await response.blob(), `consent-receipt-${c.receipt_id}.json`);
  });
}

// -- accesses and rewards -------------------------------------------------------------------------

async function loadAccesses() {
  await section("#accesses-body", async () => {
    const list = await call("/me/accesses", { query: { limit: 100 } });
    const rows = list.map((a) =>
      el("tr", {},
        el("td", {}, formatDate(a.block_time)),
        el("td", {}, brandName(a.brand)),
        el("td", {}, a.purpose),
        el("td", {}, chips(a.categories)),
        el("td", { class: "num" }, cash(a.price)),
        el("td", {}, txLink(session.cfg, a.tx_hash))));
    fill("#accesses-body", table(["When", "Brand", "Purpose", "Data used", { label: "Earned (CASH)", class: "num" }, "Transaction"], rows,
      { empty: "No brand has used your data yet." }));
  });
}

async function loadRewards() {
  await section("#rewards-body", async () => {
    const list = await call("/me/rewards");
    const rows = list.slice().reverse().map((r) => {
      const tr = el("tr", { class: "clickable", title: "Show where this came from" },
        el("td", {}, `#${r.epoch}`),
        el("td", {}, formatDate(r.as_of, false)),
        el("td", { class: "num" }, cash(r.purchase_cashback)),
        el("td", { class: "num" }, cash(r.access_earnings)),
        el("td", { class: "num" }, el("b", {}, cash(r.earned))),
        el("td", { class: "num" }, cash(r.cumulative)),
        el("td", {}, txLink(session.cfg, r.tx_hash)));
      tr.addEventListener("click", (ev) => { if (ev.target.tagName !== "A") toggleLines(tr, r.epoch); });
      return tr;
    });
    fill("#rewards-body", table(
      ["Epoch", "As of", { label: "Purchases", class: "num" }, { label: "Data accesses", class: "num" }, { label: "Earned", class: "num" }, { label: "Total so far", class: "num" }, "Root published"],
      rows,
      { empty: "No rewards yet: they are settled once per epoch, from your purchases and paid data accesses." },
    ));
    drawEarnings(list);
  });
}

// How a reward line's source reads (paid profile upkeep: docs/data-rights.md).
const SOURCES = { access: "data access", upkeep: "profile upkeep" };

async function toggleLines(tr, epoch) {
  const next = tr.nextElementSibling;
  if (next && next.classList.contains("detail")) {
    next.remove();
    return;
  }
  const cell = el("td", { colspan: 7 }, el("p", { class: "empty" }, "Loading…"));
  tr.after(el("tr", { class: "detail" }, cell));
  try {
    const lines = await call(`/me/rewards/${epoch}`);
    fill(cell, table(["Source", "Brand", "When", "Detail", { label: "Reward (CASH)", class: "num" }], lines.map((l) =>
      el("tr", {},
        el("td", {}, SOURCES[l.source] || l.source),
        el("td", {}, l.source === "upkeep" ? "the programme" : state.brands.get(String(l.brand).toLowerCase()) || l.brand),
        el("td", {}, formatDate(l.at)),
        el("td", { class: "small" },
          l.amount_won !== null && l.amount_won !== undefined ? `${formatWon(l.amount_won)} at ${(l.rate_bps / 100).toFixed(2)} %`
            : l.source === "upkeep" ? l.reference.replace("_", " ") : shortHex(l.reference, 10, 6)),
        el("td", { class: "num" }, cash(l.reward)))), { empty: "No lines." }));
  } catch (e) {
    fill(cell, el("div", { class: "notice error" }, explain(e)));
  }
}

function drawEarnings(list) {
  const d = session.cfg.token_decimals;
  const canvas = $("#earnings-chart");
  const labels = list.map((r) => `#${r.epoch} ${formatDate(r.as_of, false)}`);
  makeChart(canvas, {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: "From purchases", data: list.map((r) => cashNumber(r.purchase_cashback, d)), backgroundColor: PALETTE[0], stack: "earned" },
        { label: "From data accesses", data: list.map((r) => cashNumber(r.access_earnings, d)), backgroundColor: PALETTE[1], stack: "earned" },
        { label: "Total so far", type: "line", data: list.map((r) => cashNumber(r.cumulative, d)), borderColor: PALETTE[2], backgroundColor: PALETTE[2], yAxisID: "total", tension: 0.2 },
      ],
    },
    options: {
      scales: {
        x: { stacked: true },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: "CASH per epoch" } },
        total: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "CASH in total" } },
      },
    },
  });
}

// -- claims -------------------------------------------------------------------------------------

async function claimRelayed() {
  await busy($("#claim-relayed"), "#claim-msg", async () => {
    const sent = await call("/me/claim", { method: "POST" });
    await loadMoney();
    notify("#claim-msg", "ok", `Claimed ${cash(sent.amount)} CASH (block ${sent.block_number}); the programme paid the gas.`);
  });
  showClaimButtons();
}

// The API offers a root whose challenge window is over before anyone finalised it (a relayed claim finalises
// it first); a claim against it from the customer's own wallet would revert, so the wallet finalises it first.
async function finalizeFirst(distributor, epoch) {
  if (Number(await distributor.claimableEpoch()) >= epoch) return;
  notify("#claim-msg", "info", `Epoch ${epoch}'s challenge window is over but nobody has finalised it yet: your wallet finalises it first (one more transaction), then claims.`);
  try {
    await (await distributor.finalizeEpoch()).wait();
  } catch (e) {
    // Someone else may have finalised it meanwhile; only a root still not claimable is the customer's problem.
    if (Number(await distributor.claimableEpoch()) < epoch) throw e;
  }
}

async function claimOwn() {
  await busy($("#claim-own"), "#claim-msg", async () => {
    const claim = await call("/me/claim");
    if (toUnits(claim.claimable) === 0n) throw new Error("There is nothing to claim yet.");
    const signer = await new ethers.BrowserProvider(window.ethereum).getSigner();
    // A salted leaf (docs/privacy.md) is claimed with its salt; `salt` is null only on an unsalted tree.
    const abi = claim.salt
      ? "function claim(address account, uint256 cumulativeAmount, bytes32 salt, bytes32[] proof)"
      : "function claim(address account, uint256 cumulativeAmount, bytes32[] proof)";
    const args = claim.salt ? [claim.salt, claim.proof] : [claim.proof];
    const distributor = new ethers.Contract(session.cfg.distributor,
      [abi, "function claimableEpoch() view returns (uint64)", "function finalizeEpoch()"], signer);
    await finalizeFirst(distributor, claim.epoch);
    const tx = await distributor.claim(state.address, toUnits(claim.cumulative), ...args);
    notify("#claim-msg", "info", "Claim sent from your wallet; waiting for the block…");
    const receipt = await tx.wait();
    await loadMoney();
    notify("#claim-msg", "ok", `Claimed ${cash(claim.claimable)} CASH in block ${receipt.blockNumber}.`);
  });
  showClaimButtons();
}

// -- start ---------------------------------------------------------------------------------------

startPage(async (cfg) => {
  const hasInjected = Boolean(window.ethereum);
  $("#injected").hidden = !hasInjected;
  if (hasInjected) {
    $("#use-dev").hidden = !cfg.dev_wallet_allowed;
  } else if (cfg.dev_wallet_allowed) {
    showDevWallet();
  } else {
    notify("#connect-msg", "warn", "No browser wallet was found. Install a wallet extension (or open this page in a wallet's browser) to sign in.");
  }

  $("#connect-injected").addEventListener("click", (ev) => busy(ev.target, "#connect-msg", async () => signIn(await injectedSigner())));
  $("#use-dev").addEventListener("click", () => { $("#injected").hidden = true; showDevWallet(); });
  $("#connect-dev").addEventListener("click", (ev) => busy(ev.target, "#connect-msg", () => signIn(devSigner())));
  $("#dev-new").addEventListener("click", () => {
    if (!confirm("Make a new development key? The old one is forgotten by this browser (its CASH stays with its address).")) return;
    localStorage.removeItem(DEV_KEY);
    showDevWallet();
  });
  $("#dev-show-import").addEventListener("click", () => { $("#dev-import").hidden = false; });
  $("#dev-import-cancel").addEventListener("click", () => { $("#dev-import").hidden = true; });
  $("#dev-import").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = $("#dev-import-key").value.trim();
    try {
      const wallet = new ethers.Wallet(key.startsWith("0x") ? key : "0x" + key);
      localStorage.setItem(DEV_KEY, wallet.privateKey);
      $("#dev-import-key").value = "";
      $("#dev-import").hidden = true;
      clear("#connect-msg");
      showDevWallet();
    } catch {
      notify("#connect-msg", "error", "That is not a private key: expected 0x followed by 64 hex digits.");
    }
  });
  $("#dev-export").addEventListener("click", () => {
    const node = $("#dev-key");
    node.hidden = !node.hidden;
    node.textContent = node.hidden ? "" : devWallet().privateKey;
  });
  onSignOut(signOut);
  $("#grant-form").addEventListener("submit", grant);
  $("#grant-form").addEventListener("change", showGrantMissing);
  $("#show-ended").addEventListener("change", loadConsents);
  $("#claim-relayed").addEventListener("click", claimRelayed);
  $("#claim-own").addEventListener("click", claimOwn);

  try {
    await resume();
  } catch (e) {
    notify("#connect-msg", "error", e);
  }
});
