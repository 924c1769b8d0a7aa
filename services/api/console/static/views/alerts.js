import { enc, get, query } from "../api.js";
import { badge, fmt, h, link, replace, table } from "../dom.js";

const FILTERS = ["status", "severity", "rule", "product_id", "customer_id", "type", "channel"];
const CHOICES = { status: ["open", "acknowledged", "resolved"], severity: ["critical", "warning", "info"] };

export async function render(root, _params, ctx) {
  const params = new URLSearchParams(location.search);
  if (!location.search) params.set("status", "open");
  const inputs = {};
  const fields = FILTERS.map((name) => {
    const value = params.get(name) || "";
    inputs[name] = CHOICES[name]
      ? h("select", { id: `f-${name}`, name }, h("option", { value: "" }, "any"), CHOICES[name].map((c) => h("option", { value: c, selected: c === value }, c)))
      : h("input", { id: `f-${name}`, name, value, size: 12 });
    return h("label", { for: `f-${name}` }, name.replace("_id", "").replace("_", " "), inputs[name]);
  });
  const form = h("form", { class: "filters", "aria-label": "Filters" }, fields, h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = Object.fromEntries(FILTERS.map((name) => [name, inputs[name].value.trim()]));
    ctx.navigate(`/alerts${query(chosen) || "?all=1"}`);
  });
  const list = h("section", { "aria-label": "Alerts" });
  root.append(h("h1", {}, "Alerts"), h("p", { class: "sub" }, "Friction alerts, latest activity first. New ones appear here as they open."), form, list);
  const url = `/v1/alerts${query({ ...Object.fromEntries(FILTERS.map((n) => [n, params.get(n)])), limit: 100 })}`;
  const seen = new Set();
  async function refresh(force = false) {
    const answer = await get(url);
    if (!force && !answer.changed) return;
    const alerts = answer.body.alerts;
    const first = seen.size === 0;
    replace(list, alerts.length ? table([
      { label: "Severity", cell: (a) => badge(a.severity) },
      { label: "Alert", cell: (a) => link(`/alerts/${a.id}`, a.summary) },
      { label: "Rule", cell: (a) => a.rule },
      { label: "Customer", cell: (a) => (a.customer_id ? link(`/customers/${enc(a.customer_id)}`, a.customer_id) : "–") },
      { label: "Product", cell: (a) => a.product_id || "–" },
      { label: "Status", cell: (a) => badge(a.status) },
      { label: "Seen", num: true, cell: (a) => `${a.occurrences}×` },
      { label: "Last seen", cell: (a) => fmt.time(a.last_seen_at) },
    ], alerts, (a) => ({ class: !first && !seen.has(a.id) ? "fresh" : null, "data-alert-id": a.id }))
      : h("p", { class: "empty" }, "No alerts match. Alerts open when a customer struggles: repeated errors, a payment failing, an abandoned checkout, a detractor's answer."));
    alerts.forEach((a) => seen.add(a.id));
  }
  await refresh(true);
  return { refresh: () => refresh(false) };
}
