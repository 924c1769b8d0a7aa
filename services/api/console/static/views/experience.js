import { enc, get, getBody, query } from "../api.js";
import { chart, dispose, palette } from "../charts.js";
import { badge, card, fmt, h, link, plural, replace, table } from "../dom.js";

export async function render(root, [customer]) {
  const model = await getBody("/v1/stage-model");
  const urls = [
    `/v1/customers/${enc(customer)}/experience`,
    `/v1/customers/${enc(customer)}/touchpoints?limit=500`,
    `/v1/alerts${query({ customer_id: customer, status: ["open", "acknowledged"], limit: 50 })}`,
  ];
  async function refresh(force = false) {
    const answers = await Promise.all(urls.map((url) => get(url)));
    if (force || answers.some((a) => a.changed)) draw(root, customer, model, ...answers.map((a) => a.body));
  }
  await refresh(true);
  return { refresh };
}

function draw(root, customer, model, experience, timeline, alerts) {
  dispose(root);
  const touchpoints = [...timeline.touchpoints].reverse(); // oldest first
  const lanes = h("div", { class: "chart", id: "lanes", role: "img", "aria-label": "Touchpoints by channel over time" });
  const emotion = h("div", { class: "chart", id: "emotion", role: "img", "aria-label": "Sentiment over time with NPS, CSAT, support contacts and errors" });
  replace(root,
    h("h1", {}, `Experience map: ${customer}`),
    h("p", { class: "sub" }, `Every touchpoint across products and channels, ${fmt.time(experience.first_seen)} to ${fmt.time(experience.last_seen)}.`),
    h("section", { class: "cards", "aria-label": "Totals" },
      card("Touchpoints", fmt.n(experience.touchpoint_count)),
      card("Revenue", fmt.money(experience.revenue)),
      card("NPS", experience.nps.category ? h("span", {}, `${experience.nps.latest} `, badge(experience.nps.category)) : "–", plural(experience.nps.responses, "answer")),
      card("Average CSAT", experience.csat.average === null ? "–" : `${experience.csat.average.toFixed(1)} / 5`, plural(experience.csat.responses, "answer")),
      card("Support contacts", fmt.n(experience.support.contacts)),
      card("Errors", fmt.n(experience.error_touchpoints))),
    h("section", { class: "panel" }, h("h2", {}, "Channels over time"), lanes),
    h("section", { class: "panel" }, h("h2", {}, "Emotion curve"), emotion),
    h("div", { class: "two" },
      h("section", {}, h("h2", {}, "Journeys"), journeysTable(customer, experience.journeys)),
      h("section", {}, h("h2", {}, "Open alerts"), alertsList(alerts.alerts))));
  // A margin of 3 % (at least a minute) keeps the first and last points off the axes.
  const first = Date.parse(experience.first_seen), last = Date.parse(experience.last_seen);
  const margin = Math.max((last - first) * 0.03, 60000);
  const span = { type: "time", name: "time", nameLocation: "middle", nameGap: 30, min: first - margin, max: last + margin };
  drawLanes(lanes, touchpoints, experience.channels.map((c) => c.channel), span);
  drawEmotion(emotion, experience, touchpoints, model, span);
}

function journeysTable(customer, journeys) {
  if (!journeys.length) return h("p", { class: "muted" }, "No product journeys: these touchpoints named no product.");
  return table([
    { label: "Product", cell: (j) => link(`/customers/${enc(customer)}/journeys/${enc(j.product_id)}?instance=${j.instance}`, `${j.product_id} #${j.instance}`) },
    { label: "Stage", cell: (j) => j.stage },
    { label: "Outcome", cell: (j) => badge(j.status) },
    { label: "Touchpoints", num: true, cell: (j) => j.touchpoint_count },
    { label: "Started", cell: (j) => fmt.time(j.started_at) },
  ], journeys);
}

export function alertsList(alerts) {
  if (!alerts.length) return h("p", { class: "muted" }, "No open alerts.");
  return table([
    { label: "Severity", cell: (a) => badge(a.severity) },
    { label: "Alert", cell: (a) => link(`/alerts/${a.id}`, a.summary) },
    { label: "Status", cell: (a) => badge(a.status) },
    { label: "Last seen", cell: (a) => fmt.time(a.last_seen_at) },
  ], alerts);
}

function drawLanes(element, touchpoints, channels, span) {
  chart(element, {
    grid: { left: 90, right: 30, top: 36, bottom: 50 },
    tooltip: { formatter: (p) => `${p.data.type}<br>${p.data.channel}${p.data.product ? ` · ${p.data.product}` : ""}<br>${fmt.time(p.data.value[0])}` },
    xAxis: span,
    yAxis: { type: "category", data: channels, name: "channel" },
    series: [{
      type: "scatter", symbolSize: 12, itemStyle: { color: palette.accent },
      data: touchpoints.map((t) => ({ value: [t.occurred_at, t.channel], type: t.type, channel: t.channel, product: t.product_id })),
    }],
  });
}

function drawEmotion(element, experience, touchpoints, model, span) {
  const points = experience.sentiment.points.map((p) => [p.occurred_at, p.value]);
  const onCurve = (at) => {
    // The curve's height at `at`, so each mark sits on the line.
    const t = Date.parse(at);
    let before = null, after = null;
    for (const [x, y] of points) {
      if (Date.parse(x) <= t) before = [Date.parse(x), y];
      else { after = [Date.parse(x), y]; break; }
    }
    if (!before) return after ? after[1] : 0;
    if (!after || after[0] === before[0]) return before[1];
    return before[1] + ((after[1] - before[1]) * (t - before[0])) / (after[0] - before[0]);
  };
  const errors = new Set(model.error_types);
  // NPS and CSAT of one answer share a moment: they sit side by side, labels above and below.
  const marks = (name, color, symbol, items, position = "top", offset = 0) => ({
    name, type: "scatter", symbol, symbolSize: 16, symbolOffset: [offset, 0], itemStyle: { color }, labelLayout: { hideOverlap: true },
    label: { show: true, position, formatter: (p) => p.data.label, fontSize: 11 },
    data: items.map(([at, label]) => ({ value: [at, onCurve(at)], label })),
  });
  chart(element, {
    grid: { left: 60, right: 30, top: 40, bottom: 50 },
    legend: { top: 0 },
    tooltip: { trigger: "item", formatter: (p) => `${p.seriesName}: ${p.data.label ?? fmt.sentiment(p.value[1])}<br>${fmt.time(p.value[0])}` },
    xAxis: span,
    yAxis: { type: "value", min: -1, max: 1, name: "sentiment (−1 to +1)" },
    series: [
      { name: "Sentiment", type: "line", smooth: true, data: points, symbolSize: 7, lineStyle: { width: 3, color: palette.accent }, itemStyle: { color: palette.accent },
        markLine: { silent: true, symbol: "none", data: [{ yAxis: 0 }], lineStyle: { color: palette.muted, type: "dashed" }, label: { show: false } } },
      marks("NPS", palette.info, "diamond", touchpoints.filter((t) => t.nps !== null).map((t) => [t.occurred_at, `NPS ${t.nps}`])),
      marks("CSAT", palette.warn, "triangle", touchpoints.filter((t) => t.csat !== null).map((t) => [t.occurred_at, `CSAT ${t.csat}`]), "bottom", 14),
      marks("Support", palette.muted, "rect", experience.support.timeline.map((m) => [m.occurred_at, "support"])),
      marks("Error", palette.bad, "pin", touchpoints.filter((t) => errors.has(t.type)).map((t) => [t.occurred_at, t.type])),
    ],
  });
}
