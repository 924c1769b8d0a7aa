import { enc, get, query } from "../api.js";
import { chart, dispose, palette } from "../charts.js";
import { emptyState, exampleJourney, fmt, h, plural, replace, table } from "../dom.js";
import { cohortFromUrl, productForm } from "./products.js";

const COLORS = { start: palette.muted, stage: palette.accent, dropped: palette.bad, open: palette.info, revisited: palette.warn };
const LABELS = { start: () => "start", stage: (s) => s, dropped: (s) => `dropped in ${s}`, open: (s) => `still in ${s}`, revisited: (s) => `went back from ${s}` };

export async function render(root, [product], ctx) {
  const form = await productForm("/flows", product, ctx);
  if (form === "redirected") return null;
  root.append(h("h1", {}, "Stage flow"),
    h("p", { class: "sub" }, "Where the product's journeys went from each stage: on to a later stage, dropped, or still there. What flows into a stage flows out of it; the “went back” stubs count journeys that revisited an earlier stage's touchpoints and are also counted onwards."));
  if (!form) {
    root.append(emptyState("No product journeys yet: events with a product_id fill the flow.", exampleJourney()));
    return null;
  }
  const body = h("div");
  root.append(form, body);
  const url = `/v1/products/${enc(product)}/flow${query(cohortFromUrl().api)}`;
  async function refresh(force = false) {
    const answer = await get(url);
    if (force || answer.changed) draw(body, answer.body);
  }
  await refresh(true);
  return { refresh };
}

function draw(element, flow) {
  dispose(element);
  const byId = new Map(flow.nodes.map((n) => [n.id, n]));
  const name = (id) => LABELS[byId.get(id).kind](byId.get(id).stage);
  const sankey = h("div", { class: "chart tall", id: "flow-chart", role: "img", "aria-label": "Stage-to-stage flow of journeys" });
  replace(element,
    h("p", {}, plural(flow.journeys, "journey")),
    h("section", { class: "panel" }, sankey),
    h("h2", {}, "Flows"),
    table([
      { label: "From", cell: (l) => name(l.source) },
      { label: "To", cell: (l) => name(l.target) },
      { label: "Journeys", num: true, cell: (l) => fmt.n(l.journeys) },
    ], flow.links));
  if (!flow.links.length) return;
  chart(sankey, {
    tooltip: { trigger: "item", formatter: (p) => (p.dataType === "edge" ? `${name(p.data.source)} → ${name(p.data.target)}: ${fmt.n(p.data.value)} journeys` : `${name(p.data.name)}: ${fmt.n(p.data.journeys)} journeys`) },
    series: [{
      type: "sankey", left: 20, right: 160, top: 20, bottom: 20, nodeAlign: "left", layoutIterations: 0,
      emphasis: { focus: "adjacency" },
      nodeGap: 18,
      label: { formatter: (p) => `${name(p.data.name)}: ${fmt.n(p.data.journeys)}`, backgroundColor: "rgba(255,255,255,0.85)", padding: [2, 4], borderRadius: 3 },
      lineStyle: { color: "gradient", opacity: 0.35 },
      data: flow.nodes.map((n) => ({ name: n.id, journeys: n.journeys, itemStyle: { color: COLORS[n.kind] } })),
      links: flow.links.map((l) => ({ source: l.source, target: l.target, value: l.journeys })),
    }],
  });
}
