import { enc, get, getBody, query } from "../api.js";
import { badge, card, fmt, h, link, plural, replace, table } from "../dom.js";

export async function render(root, [customer, product], ctx) {
  const model = await getBody("/v1/stage-model");
  const instance = new URLSearchParams(location.search).get("instance");
  const mapUrl = `/v1/customers/${enc(customer)}/journeys/${enc(product)}${query({ instance, limit: 1000 })}`;
  const listUrl = `/v1/customers/${enc(customer)}/journeys?limit=500`;
  async function refresh(force = false) {
    const [map, list] = await Promise.all([get(mapUrl), get(listUrl)]);
    if (force || map.changed || list.changed) draw(root, customer, product, model, map.body, list.body, ctx);
  }
  await refresh(true);
  return { refresh };
}

function draw(root, customer, product, model, map, list, ctx) {
  const instances = list.journeys.filter((j) => j.product_id === product);
  const switcher = h("select", { id: "instance", "aria-label": "Journey instance" },
    instances.map((j) => h("option", { value: j.instance, selected: j.instance === map.instance },
      `#${j.instance} · ${j.status} · started ${fmt.time(j.started_at)}`)));
  switcher.addEventListener("change", () => ctx.navigate(`/customers/${enc(customer)}/journeys/${enc(product)}?instance=${switcher.value}`));
  const byStage = new Map(map.stages.map((s) => [s.stage, s]));
  const reachedRank = model.stages.indexOf(map.stage);
  const columns = model.stages.map((name, rank) => {
    const stage = byStage.get(name);
    const cls = ["stage", rank > reachedRank ? "unreached" : "", name === map.stage ? "current" : ""].join(" ");
    return h("section", { class: cls, "aria-label": `Stage ${name}`, "data-stage": name },
      h("h3", {}, name),
      h("p", { class: "meta" }, stage
        ? `${fmt.duration(stage.seconds_in_stage)} in stage · ${plural(stage.touchpoint_count, "touchpoint")}`
        : rank < reachedRank ? "skipped" : "not reached"),
      (stage ? stage.touchpoints : []).map((t) => touchpointCard(t, model)));
  });
  const abandoned = map.status === "abandoned";
  replace(root,
    h("h1", {}, `Journey map: ${customer} · ${product}`),
    h("p", { class: "sub" }, link(`/customers/${enc(customer)}`, `← ${customer}'s experience map`)),
    h("form", { class: "filters" }, h("label", { for: "instance" }, "Journey", switcher)),
    h("section", { class: "cards", "aria-label": "Journey facts" },
      card("Outcome", badge(map.status), map.converted ? `converted ${fmt.time(map.converted_at)}` : abandoned ? `abandoned in ${map.stage}` : `now in ${map.stage}`),
      card("Touchpoints", fmt.n(map.touchpoint_count)),
      card("Revisits", fmt.n(map.revisits), "touchpoints of an earlier stage"),
      card("Revenue", fmt.money(map.revenue)),
      card("Duration", fmt.duration((Date.parse(map.last_event_at) - Date.parse(map.started_at)) / 1000))),
    h("h2", {}, "Stages"),
    h("div", { class: "stages", role: "list" }, columns),
    map.next_cursor ? h("p", { class: "muted" }, "The first 1,000 touchpoints are shown.") : null,
    h("h2", {}, "Transitions"),
    table([
      { label: "From", cell: (t) => t.from_stage || "start" },
      { label: "To", cell: (t) => t.to_stage },
      { label: "At", cell: (t) => fmt.time(t.at) },
      { label: "By touchpoint", cell: (t) => t.event_id },
    ], map.transitions));
}

function touchpointCard(t, model) {
  const mood = t.sentiment === null ? "" : t.sentiment > 0.1 ? "positive" : t.sentiment < -0.1 ? "negative" : "";
  const conversion = t.type === model.conversion_type;
  return h("article", { class: `tp ${mood} ${conversion ? "conversion" : ""}`, role: "listitem", "data-event-id": t.event_id },
    h("div", { class: "type" }, t.type),
    h("p", { class: "meta" }, `${t.channel} · ${fmt.time(t.occurred_at)}`),
    h("div", { class: "flags" },
      t.sentiment === null ? null : badge(`sentiment ${fmt.sentiment(t.sentiment)}`, mood),
      t.revisit ? badge("revisit", "warning") : null,
      conversion ? badge("conversion", "converted") : null));
}
