// What the funnel and stage-flow views share: picking a product and a cohort.

import { getBody, query } from "../api.js";
import { h, plural } from "../dom.js";

// The cohort filters in the URL, as the API's query parameters.
export function cohortFromUrl() {
  const params = new URLSearchParams(location.search);
  const day = (name) => (params.get(name) ? `${params.get(name)}T00:00:00Z` : undefined);
  return { shown: { from: params.get("from") || "", to: params.get("to") || "", channel: params.get("channel") || "" },
    api: { from: day("from"), to: day("to"), channel: params.get("channel") || undefined } };
}

// The product picker and filters; null when there is no product at all.
export async function productForm(base, product, ctx) {
  const { products } = await getBody("/v1/products");
  if (!products.length) return null;
  if (!product) {
    ctx.navigate(`${base}/${encodeURIComponent(products[0].product_id)}${location.search}`, { replaceState: true });
    return "redirected";
  }
  const { shown } = cohortFromUrl();
  const select = h("select", { id: "product", name: "product" },
    products.map((p) => h("option", { value: p.product_id, selected: p.product_id === product }, `${p.product_id} (${plural(p.journeys, "journey")})`)));
  const from = h("input", { id: "from", name: "from", type: "date", value: shown.from });
  const to = h("input", { id: "to", name: "to", type: "date", value: shown.to });
  const channel = h("input", { id: "channel", name: "channel", value: shown.channel, placeholder: "any", size: 10 });
  const form = h("form", { class: "filters", "aria-label": "Cohort" },
    h("label", { for: "product" }, "Product", select),
    h("label", { for: "from" }, "Started from (UTC)", from),
    h("label", { for: "to" }, "until, not including", to),
    h("label", { for: "channel" }, "First channel", channel),
    h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate(`${base}/${encodeURIComponent(select.value)}${query({ from: from.value, to: to.value, channel: channel.value.trim() })}`);
  });
  select.addEventListener("change", () => form.requestSubmit());
  return form;
}
