import { enc, get, getBody, query } from "../api.js";
import { chart, dispose, palette } from "../charts.js";
import { card, emptyState, exampleJourney, fmt, h, link, plural, replace, table } from "../dom.js";
import { cohortFromUrl, productForm } from "./products.js";

export async function render(root, [product], ctx) {
  const form = await productForm("/funnels", product, ctx);
  if (form === "redirected") return null;
  root.append(h("h1", {}, "Funnel"), h("p", { class: "sub" }, "How far the product's journeys got, stage by stage, and where they dropped."));
  if (!form) {
    root.append(emptyState("No product journeys yet: events with a product_id fill the funnel.", exampleJourney()));
    return null;
  }
  const { api } = cohortFromUrl();
  const body = h("div");
  const dropped = h("section", { id: "dropped", "aria-live": "polite" });
  root.append(form, body, dropped);
  const url = `/v1/products/${enc(product)}/funnel${query(api)}`;
  async function refresh(force = false) {
    const answer = await get(url);
    if (force || answer.changed) draw(body, answer.body, (stage) => showDropped(dropped, product, stage, api));
  }
  await refresh(true);
  return { refresh };
}

function draw(element, funnel, onDropped) {
  dispose(element);
  const bars = h("div", { class: "chart", id: "funnel-chart", role: "img", "aria-label": "Journeys reaching each stage" });
  replace(element,
    h("section", { class: "cards", "aria-label": "Funnel totals" },
      card("Journeys", fmt.n(funnel.journeys)),
      card("Converted", fmt.n(funnel.converted), fmt.pct(funnel.conversion)),
      card("Time to convert", fmt.duration(funnel.seconds_to_convert.median), `median · p90 ${fmt.duration(funnel.seconds_to_convert.p90)}`)),
    h("section", { class: "panel" }, bars),
    table([
      { label: "Stage", cell: (s) => s.stage },
      { label: "Reached", num: true, cell: (s) => fmt.n(s.reached) },
      { label: "From previous", num: true, cell: (s) => fmt.pct(s.conversion_from_previous) },
      { label: "From first", num: true, cell: (s) => fmt.pct(s.conversion_from_first) },
      { label: "Dropped here", num: true, cell: (s) => (s.dropped ? h("button", { class: "link", type: "button", onclick: () => onDropped(s.stage), "aria-label": `Show the ${plural(s.dropped, "journey")} dropped in ${s.stage}` }, fmt.n(s.dropped)) : "0") },
      { label: "Median time from previous", num: true, cell: (s) => fmt.duration(s.seconds_from_previous.median) },
      { label: "p90", num: true, cell: (s) => fmt.duration(s.seconds_from_previous.p90) },
      { label: "Last touchpoints before dropping", cell: (s) => s.last_touchpoints_before_dropping.map((t) => `${t.type} (${t.channel}) ×${t.journeys}`).join(", ") || "–" },
    ], funnel.stages));
  chart(bars, {
    grid: { left: 110, right: 140, top: 36, bottom: 40 },
    legend: { top: 0 },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    xAxis: { type: "value", name: "journeys", nameLocation: "middle", nameGap: 26 },
    yAxis: { type: "category", inverse: true, data: funnel.stages.map((s) => s.stage) },
    series: [
      { name: "Reached", type: "bar", stack: "all", itemStyle: { color: palette.accent },
        label: { show: true, position: "right", formatter: (p) => `${fmt.n(p.value)} · ${fmt.pct(funnel.stages[p.dataIndex].conversion_from_first)}` },
        data: funnel.stages.map((s) => s.reached) },
      { name: "Dropped here", type: "bar", barGap: "-100%", barWidth: "35%", z: 3, itemStyle: { color: palette.bad },
        data: funnel.stages.map((s) => s.dropped) },
    ],
  }).on("click", (p) => { if (funnel.stages[p.dataIndex].dropped) onDropped(funnel.stages[p.dataIndex].stage); });
}

async function showDropped(element, product, stage, api, cursor, rows = []) {
  const page = await getBody(`/v1/products/${enc(product)}/funnel/dropped${query({ ...api, stage, cursor, limit: 50 })}`);
  rows.push(...page.journeys);
  const more = page.next_cursor
    ? h("button", { class: "secondary", type: "button", onclick: () => showDropped(element, product, stage, api, page.next_cursor, rows) }, "More")
    : null;
  replace(element,
    h("h2", {}, `Dropped in ${stage}`),
    table([
      { label: "Customer", cell: (j) => link(`/customers/${enc(j.customer_id)}/journeys/${enc(product)}?instance=${j.instance}`, `${j.customer_id} #${j.instance}`) },
      { label: "Started", cell: (j) => fmt.time(j.started_at) },
      { label: "Abandoned", cell: (j) => fmt.time(j.abandoned_at) },
      { label: "Last touchpoint", cell: (j) => (j.last_type ? `${j.last_type} (${j.last_channel})` : "–") },
    ], rows),
    more);
  element.querySelector("h2").scrollIntoView({ block: "nearest" });
}
