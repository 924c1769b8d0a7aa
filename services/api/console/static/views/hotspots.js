import { enc, get } from "../api.js";
import { emptyState, exampleJourney, fmt, h, link, replace, table } from "../dom.js";

const FIGURES = [
  { label: "Touches", num: true, cell: (r) => fmt.n(r.touches) },
  { label: "Alerts", num: true, cell: (r) => fmt.n(r.alerts) },
  { label: "Negative", num: true, cell: (r) => fmt.n(r.negative) },
  { label: "Avg sentiment", num: true, cell: (r) => fmt.sentiment(r.average_sentiment) },
  { label: "NPS", num: true, cell: (r) => (r.nps === null ? "–" : `${fmt.n(r.nps)} (${r.nps_responses})`) },
  { label: "Avg CSAT", num: true, cell: (r) => (r.average_csat === null ? "–" : `${r.average_csat.toFixed(1)} (${r.csat_responses})`) },
];

export async function render(root) {
  const body = h("div");
  root.append(h("h1", {}, "Hotspots"),
    h("p", { class: "sub" }, "Touchpoints, channels and products ranked by friction: alerts first, then negative sentiment, then volume."), body);
  async function refresh(force = false) {
    const answer = await get("/v1/hotspots?limit=50");
    if (force || answer.changed) draw(body, answer.body);
  }
  await refresh(true);
  return { refresh };
}

function draw(element, spots) {
  if (!spots.touchpoints.length && !spots.products.length) {
    replace(element, emptyState("No touchpoints counted yet.", exampleJourney()));
    return;
  }
  replace(element,
    h("h2", {}, "Products"),
    table([
      { label: "Product", cell: (r) => r.product_id },
      ...FIGURES,
      { label: "Behind it", cell: (r) => h("span", {}, link(`/alerts?product_id=${enc(r.product_id)}`, "alerts"), " · ", link(`/funnels/${enc(r.product_id)}`, "customers by stage")) },
    ], spots.products),
    h("h2", {}, "Touchpoints"),
    table([
      { label: "Type", cell: (r) => r.type },
      { label: "Channel", cell: (r) => r.channel },
      ...FIGURES,
      { label: "Behind it", cell: (r) => h("span", {}, link(`/alerts?type=${enc(r.type)}&channel=${enc(r.channel)}`, "alerts"), " · ", link(`/customers?type=${enc(r.type)}&channel=${enc(r.channel)}`, "customers")) },
    ], spots.touchpoints),
    h("h2", {}, "Channels"),
    table([
      { label: "Channel", cell: (r) => r.channel },
      ...FIGURES,
      { label: "Behind it", cell: (r) => h("span", {}, link(`/alerts?channel=${enc(r.channel)}`, "alerts"), " · ", link(`/customers?channel=${enc(r.channel)}`, "customers")) },
    ], spots.channels));
}
