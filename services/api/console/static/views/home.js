import { enc, get } from "../api.js";
import { card, emptyState, exampleJourney, fmt, h, link, replace, table } from "../dom.js";

export async function render(root) {
  const totals = h("section", { class: "cards", "aria-label": "Live totals" });
  const stream = h("section", { "aria-label": "Latest touchpoints" });
  const refused = h("section", { "aria-label": "Refused events" });
  root.append(
    h("h1", {}, "Now"),
    h("p", { class: "sub" }, "Live totals, the latest touchpoints in the maps, and what ingest refused. Refreshes every few seconds."),
    totals,
    h("h2", {}, "Latest touchpoints"), stream,
    h("h2", {}, "Refused events"), refused);
  const seen = new Set();

  async function refresh() {
    const [overview, latest, rejections] = await Promise.all([
      get("/v1/overview"), get("/v1/stream?limit=30"), get("/v1/rejections?limit=20"),
    ]);
    if (overview.changed) drawTotals(totals, overview.body);
    if (latest.changed) drawStream(stream, latest.body.touchpoints, seen);
    if (rejections.changed) drawRefused(refused, rejections.body.rejected);
  }
  await refresh();
  return { refresh };
}

function drawTotals(element, o) {
  const lag = o.map_lag.events === null
    ? card("Maps behind ingest", "n/a", o.map_lag.note)
    : card("Maps behind ingest", `${fmt.n(o.map_lag.events)} events`, o.map_lag.seconds === null ? "up to date" : `oldest waiting ${fmt.duration(o.map_lag.seconds)}`);
  replace(element,
    card("Events per minute", fmt.n(o.events_per_minute), "received, last 5 minutes"),
    card("Customers active today", fmt.n(o.customers_active_today), "since 00:00 UTC"),
    card("Open alerts", fmt.n(Object.values(o.open_alerts).reduce((a, b) => a + b, 0)),
      Object.entries(o.open_alerts).map(([severity, n]) => `${severity} ${n}`).join(" · ")),
    lag);
}

function drawStream(element, touchpoints, seen) {
  if (!touchpoints.length) {
    replace(element, emptyState("No touchpoints yet. Post a journey and it appears here within a second or two.", exampleJourney()));
    return;
  }
  const first = seen.size === 0;
  replace(element, table([
    { label: "Received", cell: (t) => fmt.clock(t.received_at) },
    { label: "Occurred", cell: (t) => fmt.time(t.occurred_at) },
    { label: "Type", cell: (t) => t.type },
    { label: "Customer", cell: (t) => link(`/customers/${enc(t.customer_id)}`, t.customer_id) },
    { label: "Channel", cell: (t) => t.channel },
    { label: "Product", cell: (t) => (t.product_id ? link(`/customers/${enc(t.customer_id)}/journeys/${enc(t.product_id)}`, t.product_id) : "–") },
  ], touchpoints, (t) => ({ class: !first && !seen.has(t.event_id) ? "fresh" : null, "data-event-id": t.event_id })));
  touchpoints.forEach((t) => seen.add(t.event_id));
}

function drawRefused(element, rejected) {
  if (!rejected.length) {
    replace(element, h("p", { class: "muted" }, "Nothing refused. Events that fail validation are listed here with the reason, and stay in GET /v1/rejections."));
    return;
  }
  replace(element, table([
    { label: "Received", cell: (r) => fmt.time(r.received_at) },
    { label: "Key", cell: (r) => r.source },
    { label: "Endpoint", cell: (r) => r.endpoint },
    { label: "Event", cell: (r) => r.event_id || (r.index === null ? "whole request" : `#${r.index}`) },
    { label: "Reason", cell: (r) => r.reason },
  ], rejected));
}
