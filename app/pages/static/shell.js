// The frame every page shares: start-up, the signed-in view, sign-in with an operator's token, sign-out.

import { $, api, busy, config, formatCash, notify } from "./common.js";

// What every call and amount on a page needs: the chain facts (/pages/config) and the signed-in bearer token.
export const session = { cfg: null, token: null };

export const call = (path, opts = {}) => api(path, { token: session.token, ...opts });
export const cash = (units) => formatCash(units, session.cfg.token_decimals);

// The chain facts come first (a page can draw nothing without them), then the page wires itself up; the
// body's data-ready tells the tests (and anyone watching) that the page is listening.
export async function startPage(wire) {
  try {
    session.cfg = await config();
  } catch (e) {
    notify("#page-error", "error", e);
    return;
  }
  await wire(session.cfg);
  document.body.dataset.ready = "true";
}

// Signed in: the sign-in card gives way to the view, the navigation, who is signed in and *Sign out*; the
// body's data-loaded is set once every section has loaded (or said why it could not).
export async function enterView({ gate, view, who, title = "" }, load) {
  $(gate).hidden = true;
  $(view).hidden = false;
  $("#nav").hidden = false;
  $("#sign-out").hidden = false;
  $("#who").textContent = who;
  $("#who").title = title;
  await load();
  document.body.dataset.loaded = "true";
}

export function onSignOut(forget) {
  $("#sign-out").addEventListener("click", async () => {
    await forget();
    location.reload();
  });
}

// Sign-in with a token the operator issued (a brand's API key, an auditor's token). `check(token)` asks the
// API who it is; the token is kept in this tab only (sessionStorage) and tried again on a reload. The button
// is disabled in the page until this listener is on, so a click that comes too early cannot send the form
// natively (and the token with it).
export async function tokenSignIn({ storageKey, input, check, invalid, enter }) {
  const signIn = async (token) => {
    const who = await check(token);
    session.token = token;
    sessionStorage.setItem(storageKey, token);
    await enter(who);
  };
  $("#signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy($("#signin-submit"), "#signin-msg", async () => {
      try {
        await signIn($(input).value.trim());
      } catch (e) {
        // explain() reads not_authenticated as an ended session; here the token itself is wrong.
        if (e.code === "not_authenticated") throw new Error(invalid);
        throw e;
      }
    });
  });
  $("#signin-submit").disabled = false;
  onSignOut(() => sessionStorage.removeItem(storageKey));
  const saved = sessionStorage.getItem(storageKey);
  if (!saved) return;
  try {
    await signIn(saved);
  } catch (e) {
    sessionStorage.removeItem(storageKey);
    notify("#signin-msg", "error", e);
  }
}
