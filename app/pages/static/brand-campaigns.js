// The brand console's campaigns: plan one (audience now, power and minimum detectable effect) before its holdout is
// committed on chain, then start, finish (evaluate and reveal) and read its results with 95% CIs as a chart.

import { $, busy, el, explain, fill, formatDate, makeChart, notify, PALETTE, plural, shortHex, stat, table } from "./common.js";

const points = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(2)} pts`);
const percent = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)} %`);
const won = (x) => (x === null || x === undefined ? "—" : `₩${Math.round(x).toLocaleString("en-US")}`);
const pValue = (p) => (p === null || p === undefined ? "—" : p < 0.0001 ? "< 0.0001" : p.toFixed(4));
const NEXT = { draft: ["commit", "Commit holdout on chain"], committed: ["start", "Start"], running: ["finish", "Finish and reveal"] };

let campaignCall = null; // the console's authenticated fetch, set by loadCampaigns

function campaignStatus(c) {
  const kind = { revealed: "ok", running: "ok", committed: "neutral", draft: "warn" }[c.status] || "neutral";
  return el("span", { class: `badge ${kind}` }, c.status);
}

function campaignRow(c) {
  const [action, label] = NEXT[c.status] || [];
  return el("tr", { "data-campaign": String(c.id) },
    el("td", {}, el("strong", {}, c.name), el("div", { class: "small muted", title: c.commitment }, `commitment ${shortHex(c.commitment, 8, 6)}`)),
    el("td", {}, campaignStatus(c)),
    el("td", { class: "small" }, `${formatDate(c.starts_at)} → ${formatDate(c.ends_at)}`),
    el("td", { class: "num" }, `${(c.holdout_bps / 100).toFixed(2)} %`),
    el("td", { class: "num" }, c.members ? `${c.members.test} / ${c.members.holdout}` : "—"),
    el("td", {},
      action ? el("button", { class: "secondary campaign-action", "data-action": action, onclick: (ev) => campaignStep(ev.target, c, action) }, label) : null,
      c.status === "revealed" || c.results_hash ? el("button", { class: "secondary campaign-results", onclick: () => showCampaignResults(c.id) }, "Results") : null));
}

async function campaignStep(button, campaign, action) {
  await busy(button, "#campaign-msg", async () => {
    const done = await campaignCall(`/brands/me/campaigns/${campaign.id}/${action}`, { method: "POST" });
    if (action === "commit") {
      fill("#campaign-plan"); // its commit button has done its work
      notify("#campaign-msg", "ok", `Committed on chain before the start (transaction ${shortHex(done.commit_tx)}); the salt stays secret until the reveal.`);
    }
    if (action === "start") notify("#campaign-msg", "ok", `Started: ${plural(done.campaign.members.test + done.campaign.members.holdout, "member")}, the offer delivered to ${done.delivery ? done.delivery.delivered : 0} in the test arm; the holdout gets nothing.`);
    if (action === "finish") {
      notify("#campaign-msg", "ok", "Evaluated, and the salt and the results' hash revealed on chain.");
      renderCampaignResults(done);
    }
    await listCampaigns();
  });
}

function renderCampaignPlan(created) {
  const { campaign, plan } = created;
  const mde = plan.mde_abs === null
    ? el("p", { class: "notice warn" }, "Too few customers in each arm to plan: the result could not be judged.")
    : el("p", { class: "campaign-mde" },
      `With ${plan.test_n} in the test arm and ${plan.holdout_n} held out, the smallest uplift detected 80% of the time (α = 5%) is `,
      el("strong", {}, plan.metric === "conversion" ? points(plan.mde_abs) : won(plan.mde_abs)),
      plan.mde_rel === null ? "" : ` (${percent(plan.mde_rel)} relative)`,
      ` over a baseline of ${plan.metric === "conversion" ? percent(plan.baseline) : won(plan.baseline)}${plan.baseline_assumed ? " (assumed: no history yet)" : ""}.`);
  fill("#campaign-plan",
    el("div", { class: "stats below" },
      stat("Audience now", String(plan.audience), "customers", "the rule's audience under consent"),
      stat("Test / holdout", `${plan.test_n} / ${plan.holdout_n}`),
      stat("Minimum detectable effect", plan.mde_abs === null ? "—" : plan.metric === "conversion" ? points(plan.mde_abs) : won(plan.mde_abs), "", "at 80% power")),
    mde,
    el("div", { class: "actions" },
      el("button", { id: "campaign-commit", onclick: (ev) => campaignStep(ev.target, campaign, "commit") }, "Commit holdout on chain"),
      el("span", { class: "small muted" }, `Publishes keccak256(parameters hash, secret salt) = ${shortHex(campaign.commitment, 10, 8)} before the start: the holdout can then never be re-drawn.`)));
}

async function createCampaign(ev) {
  ev.preventDefault();
  await busy($("#c-create"), "#campaign-msg", async () => {
    const rule = JSON.parse($("#c-rule").selectedOptions[0]?.dataset.rule || "null");
    if (!rule) throw new Error("Choose the rule whose audience the campaign reaches (create a rule first).");
    const when = (id) => {
      const value = $(id).value;
      if (!value) throw new Error("Give the campaign a start and an end.");
      return new Date(value).toISOString(); // the browser's local time, sent with its zone (UTC)
    };
    const created = await campaignCall("/brands/me/campaigns", {
      method: "POST",
      body: {
        name: $("#c-name").value.trim(),
        offer_id: rule.offer_id,
        rule_id: rule.id,
        holdout_share: Number($("#c-holdout").value),
        metric: $("#c-metric").value,
        conversion_days: Number($("#c-days").value),
        guardrails: [...document.querySelectorAll("#c-guardrails input:checked")].map((i) => i.value).filter((g) => g !== $("#c-metric").value),
        starts_at: when("#c-start"),
        ends_at: when("#c-end"),
      },
    });
    renderCampaignPlan(created);
    await listCampaigns();
  });
}

function uplifts(r) {
  const rows = [["Conversion uplift (points)", r.conversion.uplift_abs, r.conversion.uplift_abs_ci, 100]];
  if (r.conversion.uplift_rel_ci) rows.push(["Conversion, relative (%)", r.conversion.uplift_rel, r.conversion.uplift_rel_ci, 100]);
  if (r.spend.uplift_rel_ci) rows.push(["Spend per customer, relative (%)", r.spend.uplift_rel, r.spend.uplift_rel_ci, 100]);
  if (r.spend_cuped.uplift_rel_ci) rows.push(["Spend with CUPED, relative (%)", r.spend_cuped.uplift_rel, r.spend_cuped.uplift_rel_ci, 100]);
  return rows.map(([label, estimate, ci, scale]) => ({ label, estimate: estimate * scale, low: ci.low * scale, high: ci.high * scale }));
}

function drawUpliftChart(r) {
  const rows = uplifts(r);
  const canvas = $("#campaign-ci-chart");
  canvas.dataset.intervals = JSON.stringify(rows);
  makeChart(canvas, {
    type: "bar",
    data: {
      labels: rows.map((x) => x.label),
      datasets: [
        { label: "95% confidence interval", data: rows.map((x) => [x.low, x.high]), backgroundColor: PALETTE[0], borderSkipped: false },
        { type: "line", label: "estimate", data: rows.map((x) => ({ x: x.estimate, y: x.label })), showLine: false, pointRadius: 6, pointStyle: "rectRot", backgroundColor: PALETTE[1], borderColor: PALETTE[1] },
      ],
    },
    options: {
      indexAxis: "y",
      scales: { x: { title: { display: true, text: "uplift of test over holdout" } } },
      plugins: { tooltip: { callbacks: { label: (item) => (item.datasetIndex === 0 ? `${rows[item.dataIndex].low.toFixed(2)} … ${rows[item.dataIndex].high.toFixed(2)}` : `${rows[item.dataIndex].estimate.toFixed(2)}`) } } },
    },
  });
}

function renderCampaignResults(found) {
  const r = found.results;
  const c = r.conversion;
  const ci = (x) => `${points(x.low)} … ${points(x.high)}`;
  const significant = (x) => el("span", { class: `badge ${x.significant ? "ok" : "neutral"}` }, x.significant ? "significant" : "not significant");
  fill("#campaign-results",
    el("h3", {}, `Results: ${found.campaign.name}`, " ", el("span", { class: `badge ${found.revealed ? "ok" : "warn"}` }, found.revealed ? "revealed on chain" : "not revealed yet")),
    el("div", { class: "stats below" },
      stat("Hit ratio, test", percent(c.test_rate), "", `${c.test_hits} of ${r.members.test}`),
      stat("Hit ratio, holdout", percent(c.holdout_rate), "", `${c.holdout_hits} of ${r.members.holdout}`),
      stat("Uplift", points(c.uplift_abs), "", `95% CI ${ci(c.uplift_abs_ci)}`),
      stat("Relative uplift", percent(c.uplift_rel), "", c.uplift_rel_ci ? `95% CI ${percent(c.uplift_rel_ci.low)} … ${percent(c.uplift_rel_ci.high)}` : "")),
    table(["Metric", "Test", "Holdout", "Uplift (95% CI)", "Test", { label: "p-value", class: "num" }, ""], [
      el("tr", { "data-metric": "conversion" }, el("td", {}, "Conversion (primary: " + r.primary + ")"), el("td", {}, percent(c.test_rate)), el("td", {}, percent(c.holdout_rate)),
        el("td", {}, `${points(c.uplift_abs)} (${ci(c.uplift_abs_ci)})`), el("td", { class: "small" }, "two-proportion z"), el("td", { class: "num p-value" }, pValue(c.p_value)), el("td", {}, significant(c))),
      ...[["spend", "Spend per customer", r.spend, "Welch t"], ["spend_cuped", "Spend, CUPED (pre-period)", r.spend_cuped, "Welch t, adjusted"]].map(([key, label, m, test]) =>
        el("tr", { "data-metric": key }, el("td", {}, label), el("td", {}, won(m.test_mean)), el("td", {}, won(m.holdout_mean)),
          el("td", {}, `${won(m.uplift_abs)} (${won(m.uplift_abs_ci?.low)} … ${won(m.uplift_abs_ci?.high)})`), el("td", { class: "small" }, test),
          el("td", { class: "num p-value" }, pValue(m.p_value)), el("td", {}, significant(m)))),
    ]),
    el("p", { class: `small ${r.sample_ratio.mismatch ? "notice error" : "muted"}`, id: "campaign-srm" },
      r.sample_ratio.mismatch
        ? `Sample-ratio mismatch (p = ${pValue(r.sample_ratio.p_value)}): the arms are not the committed split; do not trust this result.`
        : `Split as committed (sample-ratio check p = ${pValue(r.sample_ratio.p_value)}). CUPED removed ${percent(r.spend_cuped.variance_reduction)} of the spend's variance.`),
    r.guardrails.length ? el("p", { class: "small" }, "Guardrails: ", ...r.guardrails.map((g) =>
      el("span", { class: `badge ${g.harmed ? "bad" : "ok"}`, "data-guardrail": g.metric }, `${g.metric}: ${g.harmed ? "harmed" : "held"}`))) : null,
    el("div", { class: "chart-box" }, el("canvas", { id: "campaign-ci-chart" })),
    el("p", { class: "small muted", title: found.results_hash }, `Results hash ${shortHex(found.results_hash, 10, 8)}${found.revealed ? ", revealed on chain with the salt: anyone can re-derive every arm and figure." : "."}`));
  drawUpliftChart(r);
}

async function showCampaignResults(id) {
  try {
    renderCampaignResults(await campaignCall(`/brands/me/campaigns/${id}/results`));
  } catch (e) {
    fill("#campaign-results", el("div", { class: "notice error" }, explain(e)));
  }
}

async function listCampaigns() {
  const list = await campaignCall("/brands/me/campaigns");
  fill("#campaigns-body", table(["Campaign", "Status", "When", { label: "Holdout", class: "num" }, { label: "Test / holdout", class: "num" }, ""],
    list.map(campaignRow), { empty: "No campaigns yet." }));
  return list;
}

/** Wires the campaign form and renders the brand's campaigns with `call` (the console's authenticated fetch). */
export async function loadCampaigns(call) {
  campaignCall = call;
  try {
    const rules = await call("/brands/me/rules");
    fill("#c-rule", rules.length
      ? rules.map((r) => el("option", { value: String(r.id), "data-rule": JSON.stringify({ id: r.id, offer_id: r.offer_id }) }, `${r.name} (offer ${r.offer_id})`))
      : [el("option", { value: "" }, "no rules yet")]);
    if (!$("#campaign-form").dataset.wired) {
      $("#campaign-form").addEventListener("submit", createCampaign);
      $("#campaign-form").dataset.wired = "true";
    }
    const list = await listCampaigns();
    const last = list.find((c) => c.status === "revealed");
    if (last) await showCampaignResults(last.id);
  } catch (e) {
    fill("#campaigns-body", el("div", { class: "notice error" }, explain(e)));
  }
}
