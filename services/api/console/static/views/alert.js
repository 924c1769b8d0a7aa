import { enc, get, send } from "../api.js";
import { badge, errorBox, fmt, h, link, replace, table } from "../dom.js";

export async function render(root, [id], ctx) {
  const url = `/v1/alerts/${id}`;
  async function refresh(force = false) {
    const answer = await get(url);
    if (force || answer.changed) draw(root, answer.body, ctx, () => refresh(true));
  }
  await refresh(true);
  return { refresh: () => refresh(false) };
}

function mapLink(alert) {
  if (!alert.customer_id) return alert.product_id ? link(`/funnels/${enc(alert.product_id)}`, `${alert.product_id} funnel`) : "–";
  if (!alert.product_id) return link(`/customers/${enc(alert.customer_id)}`, `${alert.customer_id}'s experience map`);
  return link(`/customers/${enc(alert.customer_id)}/journeys/${enc(alert.product_id)}`, `${alert.customer_id}'s ${alert.product_id} journey map`);
}

function draw(root, alert, ctx, reload) {
  const actions = h("section", { class: "panel", "aria-label": "Act" });
  if (alert.status === "resolved") {
    actions.append(h("p", {}, `Resolved by ${alert.resolved_by} ${fmt.time(alert.resolved_at)}.`));
  } else if (!ctx.session.can_act) {
    actions.append(h("p", { class: "muted" }, "Sign in with the alerts key to acknowledge or resolve this alert."));
  } else {
    const note = h("textarea", { id: "note", name: "note", rows: 2, cols: 60, maxlength: 2000 });
    const error = h("div", { role: "alert" });
    const act = (verb) => async () => {
      try {
        await send("POST", `/v1/alerts/${alert.id}/${verb}`, { note: note.value.trim() || null });
        await reload();
      } catch (failure) {
        replace(error, errorBox(failure));
      }
    };
    actions.append(
      h("label", { for: "note" }, "Note (kept with the action)", note),
      h("div", { class: "flags" },
        alert.status === "open" ? h("button", { type: "button", onclick: act("acknowledge") }, "Acknowledge") : null,
        h("button", { type: "button", class: "secondary", onclick: act("resolve") }, "Resolve")),
      error);
  }
  replace(root,
    h("p", {}, link("/alerts", "← Alerts")),
    h("h1", {}, alert.summary),
    h("div", { class: "flags" }, badge(alert.severity), badge(alert.status), alert.backfill ? badge("backfill", "info") : null),
    h("dl", { class: "facts panel" },
      h("dt", {}, "Rule"), h("dd", {}, alert.rule + (alert.scope ? ` (widely: ${alert.scope})` : "")),
      h("dt", {}, "Map"), h("dd", {}, mapLink(alert)),
      h("dt", {}, "First seen"), h("dd", {}, fmt.time(alert.first_seen_at)),
      h("dt", {}, "Last seen"), h("dd", {}, `${fmt.time(alert.last_seen_at)} · ${alert.occurrences} occurrences`),
      h("dt", {}, "Acknowledged"), h("dd", {}, alert.acknowledged_at ? `${alert.acknowledged_by}, ${fmt.time(alert.acknowledged_at)}` : "–")),
    actions,
    h("h2", {}, "Triggered by"),
    alert.triggered_by.length ? table([
      { label: "Occurred", cell: (t) => fmt.time(t.occurred_at) },
      { label: "Type", cell: (t) => t.type },
      { label: "Channel", cell: (t) => t.channel },
      { label: "Product", cell: (t) => t.product_id || "–" },
      { label: "Sentiment", num: true, cell: (t) => fmt.sentiment(t.sentiment) },
      { label: "Event", cell: (t) => t.event_id },
    ], alert.triggered_by) : h("p", { class: "muted" }, "No touchpoints recorded (systemic alerts count firings)."),
    h("h2", {}, "Actions"),
    alert.actions.length ? table([
      { label: "Action", cell: (a) => a.action },
      { label: "By", cell: (a) => a.by },
      { label: "Note", cell: (a) => a.note || "–" },
      { label: "At", cell: (a) => fmt.time(a.at) },
    ], alert.actions) : h("p", { class: "muted" }, "Nobody has acted yet."),
    h("h2", {}, "Deliveries"),
    alert.deliveries.length ? table([
      { label: "Notifier", cell: (d) => d.notifier },
      { label: "Change", cell: (d) => d.change },
      { label: "Status", cell: (d) => badge(d.status, d.status === "failed" ? "critical" : d.status === "delivered" ? "resolved" : "open") },
      { label: "Attempts", num: true, cell: (d) => d.attempts },
      { label: "History", cell: (d) => d.history.map((a) => `${fmt.clock(a.attempted_at)} ${a.outcome}${a.status_code ? ` (${a.status_code})` : ""}${a.error ? `: ${a.error}` : ""}`).join("; ") || "–" },
    ], alert.deliveries) : h("p", { class: "muted" }, "No notifier is configured, or none was due."));
}
