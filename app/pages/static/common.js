// What the three pages share: API calls with plain-language errors, CASH amounts as BigInt, DOM helpers.

// Served by the app, generated from the contracts' ABIs: every custom error with its wording.
import { CONTRACT_ERRORS } from "./contract-errors.js";

// -- JSON and integers beyond 2^53 ----------------------------------------------------------------

// The API writes every integer that may exceed 2^53 (amounts, typed-data values) as a decimal string, so
// plain JSON.parse keeps it exact; BigInts go back the same way, as decimal strings.
export function toJson(value) {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

// -- errors in words a person understands --------------------------------------------------------

export class ApiError extends Error {
  constructor(status, code, message, detail) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

// The custom error a revert's data starts with (ethers leaves the reverts of sent transactions undecoded).
function revertName(error) {
  const data = error.code === "CALL_EXCEPTION" && typeof error.data === "string" ? error.data.slice(0, 10).toLowerCase() : null;
  return data ? Object.keys(CONTRACT_ERRORS).find((name) => CONTRACT_ERRORS[name].selector === data) : undefined;
}

function words(camel) {
  return camel.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
}

// A sentence for any error the pages meet: API refusals, wallet refusals, an unreachable server.
export function explain(error) {
  if (!error) return "Something went wrong.";
  if (error.code === "ACTION_REJECTED" || error.code === 4001 || /user (rejected|denied)/i.test(error.message || "")) {
    return "You declined the request in your wallet. Nothing was changed.";
  }
  if (error instanceof TypeError && /fetch|network/i.test(error.message)) {
    return "The server cannot be reached. Is the local stack running? Try again in a moment.";
  }
  if (!(error instanceof ApiError)) {
    // A transaction from the customer's own wallet, refused by a contract: worded from the same table.
    const name = revertName(error);
    if (name && CONTRACT_ERRORS[name].wording) {
      return `The blockchain refused this: ${CONTRACT_ERRORS[name].wording}. Nothing was changed.`;
    }
    return error.shortMessage || error.message || String(error);
  }
  const m = error.message || "";
  switch (error.code) {
    case "invalid_signature":
      return "The signature was rejected: it was not made by this wallet for this exact request. Nothing was changed.";
    case "signature_expired":
      return "This signing request expired before it was sent. Please start again.";
    case "consent_not_found":
      return "There is no active consent for that brand and purpose (it may already be revoked or expired).";
    case "consent_not_covering":
      return "The customer's consent does not cover this request (revoked, expired, or a category missing).";
    case "insufficient_budget":
      return "The reward budget is empty or too small to pay for this request. Deposit more CASH before asking again.";
    case "insufficient_cash": {
      const held = error.detail && error.detail.held;
      return `You ${held ? `hold ${formatCash(held)} CASH, ` : "do not hold "}not enough for this payment. Nothing was paid.`;
    }
    case "chain_unavailable":
      return "The blockchain is not reachable right now, so nothing could be recorded. Please try again in a moment.";
    case "chain_mismatch":
      return "The server is connected to a different chain than the one it recorded. An operator needs to look at it.";
    case "chain_refused": {
      const name = error.detail && error.detail.error;
      const known = name && Object.hasOwn(CONTRACT_ERRORS, name) ? CONTRACT_ERRORS[name].wording : null;
      const why = known || (name ? words(name) : "it refused the transaction");
      return `The blockchain refused this: ${why}. Nothing was changed.`;
    }
    case "not_authenticated":
      return "Please sign in (again): the session is missing or has expired.";
    case "forbidden":
      return "This sign-in may not do that. " + m;
    case "invalid_input":
      return "Some input was not accepted: " + m.replace(/^invalid request: /, "");
    case "payload_too_large":
      return "That request is too large.";
    case "not_found":
    case "http_error":
      if (error.status === 404 && /^Not Found$/i.test(m)) return "This part of the service is not available on this server yet.";
      return m || "Not found.";
    default:
      if (error.status >= 500) return "The server had a problem answering. Please try again; if it persists, tell the operator.";
      return m || "The request was refused.";
  }
}

// -- API ---------------------------------------------------------------------------------------

let configPromise = null;

export function config() {
  if (!configPromise) {
    configPromise = api("/pages/config").catch((e) => {
      configPromise = null;
      throw e;
    });
  }
  return configPromise;
}

// fetch + JSON + ApiError; `token` adds the bearer header.
export async function api(path, { method = "GET", body, token, raw = false, query } = {}) {
  const headers = {};
  if (token) headers["Authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === "") continue;
      for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
    }
    const s = q.toString();
    if (s) url += (url.includes("?") ? "&" : "?") + s;
  }
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : toJson(body) });
  if (raw && response.ok) return response;
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const code = (data && data.error) || (response.status === 404 ? "not_found" : "http_error");
    const message = (data && (data.message || data.detail)) || response.statusText;
    throw new ApiError(response.status, code, typeof message === "string" ? message : JSON.stringify(message), data && data.detail);
  }
  return data;
}

// -- CASH amounts: integers of the smallest unit, BigInt only ----------------------------------

export function toUnits(value) {
  if (typeof value === "bigint") return value;
  if (value === null || value === undefined || value === "") return 0n;
  return BigInt(value);
}

// "1234.5" CASH -> smallest units; throws a plain sentence on a malformed amount.
export function parseCash(text, decimals = 18) {
  const s = String(text).trim().replace(/,/g, "");
  if (!/^\d+(\.\d+)?$/.test(s)) throw new Error(`"${text}" is not an amount: use digits and at most one decimal point.`);
  const [whole, frac = ""] = s.split(".");
  if (frac.length > decimals) throw new Error(`At most ${decimals} decimal places.`);
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt((frac + "0".repeat(decimals)).slice(0, decimals) || "0");
}

// Smallest units -> "1,234.56" (2 decimals, rounded down so a shown amount is never more than held).
export function formatCash(units, decimals = 18, places = 2) {
  let v = toUnits(units);
  const negative = v < 0n;
  if (negative) v = -v;
  const scale = 10n ** BigInt(decimals);
  const whole = v / scale;
  const frac = ((v % scale) * 10n ** BigInt(places)) / scale;
  const wholeText = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const text = places > 0 ? `${wholeText}.${frac.toString().padStart(places, "0")}` : wholeText;
  return (negative ? "-" : "") + text;
}

// For charts only (axes need numbers); tables and figures always use formatCash.
export function cashNumber(units, decimals = 18) {
  return Number(formatCash(units, decimals, 4).replace(/,/g, ""));
}

export function formatWon(won) {
  return "₩" + toUnits(won).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

// -- dates and addresses -----------------------------------------------------------------------

export function formatDate(value, withTime = true) {
  if (value === null || value === undefined || value === "" || value === 0) return "—";
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const opts = withTime
    ? { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }
    : { year: "numeric", month: "short", day: "numeric" };
  return d.toLocaleString(undefined, opts);
}

export function shortHex(hex, head = 6, tail = 4) {
  if (!hex) return "—";
  return hex.length > head + tail + 2 ? `${hex.slice(0, head)}…${hex.slice(-tail)}` : hex;
}

export function txLink(cfg, hash) {
  if (!hash) return el("span", { class: "muted" }, "—");
  const href = (cfg && cfg.tx_url ? cfg.tx_url : "/pages/tx/{hash}").replace("{hash}", hash);
  return el("a", { href, target: "_blank", rel: "noopener", class: "addr", title: hash }, shortHex(hash, 8, 6));
}

// -- DOM ---------------------------------------------------------------------------------------

// el("td", {class: "num"}, "text", childNode, ...): text is always text, never HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    // Through the CSSOM: the Content-Security-Policy refuses style attributes, not computed styles.
    else if (k === "style") node.style.cssText = String(v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function fill(target, ...children) {
  const node = typeof target === "string" ? $(target) : target;
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// A table that becomes one labelled card per row on phones (each cell carries its column's name).
export function table(headers, rows, { empty = "Nothing yet." } = {}) {
  if (!rows.length) return el("p", { class: "empty" }, empty);
  const labels = headers.map((h) => (typeof h === "string" ? h : h.label));
  const head = el("tr", {}, headers.map((h) => (typeof h === "string" ? el("th", {}, h) : el("th", { class: h.class || "" }, h.label))));
  for (const row of rows) {
    [...row.children].forEach((cell, i) => {
      if (!cell.hasAttribute("colspan") && labels[i]) cell.dataset.label = labels[i];
    });
  }
  return el("div", { class: "table-wrap" }, el("table", { class: "stack" }, el("thead", {}, head), el("tbody", {}, rows)));
}

// "1 customer", "2 customers": every count on the pages is said with this, so one is never plural.
export function plural(n, one, many = `${one}s`) {
  return `${n} ${String(n) === "1" ? one : many}`;
}

export function chips(names) {
  return el("span", { class: "chips" }, (names || []).map((n) => el("span", { class: "chip" }, n)));
}

export function stat(label, value, unit, note) {
  return el(
    "div",
    { class: "stat" },
    el("div", { class: "label" }, label),
    el("div", { class: "value" }, value, unit ? el("small", {}, unit) : null),
    note ? el("div", { class: "note" }, note) : null,
  );
}

// A notice in `target` (ok | error | info | warn); errors are explained, never dumped.
export function notify(target, kind, message) {
  const node = typeof target === "string" ? $(target) : target;
  if (!node) return;
  const text = kind === "error" && typeof message !== "string" ? explain(message) : message;
  node.replaceChildren(el("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text));
}

export function clear(target) {
  const node = typeof target === "string" ? $(target) : target;
  if (node) node.replaceChildren();
}

// Runs `action` with `button` disabled; explains a failure into `errorTarget`.
export async function busy(button, errorTarget, action) {
  if (button) button.disabled = true;
  try {
    if (errorTarget) clear(errorTarget);
    return await action();
  } catch (e) {
    if (errorTarget) notify(errorTarget, "error", e);
    else console.error(e);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 2000);
}

// A calm palette for charts, accent first.
export const PALETTE = ["#1f6f78", "#d08c2b", "#6b5fb5", "#3a8f5c", "#c0504d", "#4f81bd", "#8a8f99", "#b5688f", "#7aa33b", "#2b9bb5"];

export function makeChart(canvas, spec) {
  if (canvas._chart) canvas._chart.destroy();
  const Chart = window.Chart;
  if (!Chart) return null;
  canvas._chart = new Chart(canvas, {
    ...spec,
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      datasets: { bar: { maxBarThickness: 56 } },
      ...(spec.options || {}),
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } }, ...((spec.options && spec.options.plugins) || {}) },
    },
  });
  return canvas._chart;
}
