import { enc, getBody, query } from "../api.js";
import { emptyState, exampleJourney, fmt, h, link, replace, table } from "../dom.js";

export async function render(root, _params, ctx) {
  const params = new URLSearchParams(location.search);
  const q = h("input", { id: "q", name: "q", type: "search", value: params.get("q") || "", placeholder: "customer id starts with…", autofocus: true });
  const results = h("section", { "aria-label": "Customers found" });
  const form = h("form", { class: "filters", role: "search" }, h("label", { for: "q" }, "Customer", q), h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate(`/customers${query({ q: q.value.trim() })}`);
  });
  const touched = [params.get("type"), params.get("channel")].filter(Boolean).join(" on ");
  root.append(h("h1", {}, "Customers"),
    h("p", { class: "sub" }, touched ? `Customers with a touchpoint ${touched}, latest seen first.` : "Find a customer by the start of their id; the latest seen come first."),
    form, results);
  q.focus();

  async function refresh() {
    const found = await getBody(`/v1/customers${query({ q: params.get("q") || "", type: params.get("type"), channel: params.get("channel"), limit: 50 })}`);
    if (!found.customers.length) {
      replace(results, params.get("q")
        ? h("p", {}, `No customer id starts with “${params.get("q")}”.`)
        : emptyState("No customers yet.", exampleJourney()));
      return;
    }
    replace(results, table([
      { label: "Customer", cell: (c) => link(`/customers/${enc(c.customer_id)}`, c.customer_id) },
      { label: "Touchpoints", num: true, cell: (c) => fmt.n(c.touchpoint_count) },
      { label: "Last seen", cell: (c) => fmt.time(c.last_seen) },
    ], found.customers));
  }
  await refresh();
  return { refresh };
}
