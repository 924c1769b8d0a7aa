// Building the page: elements, numbers and times for people, and empty states.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
export const fmt = {
  n: (v) => (v === null || v === undefined ? "–" : number.format(v)),
  pct: (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)} %`),
  time: (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }) : "–"),
  clock: (iso) => (iso ? new Date(iso).toLocaleTimeString() : "–"),
  money: (v) => (v === null || v === undefined ? "–" : number.format(v)),
  sentiment: (v) => (v === null || v === undefined ? "–" : (v > 0 ? "+" : "") + v.toFixed(2)),
  duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  },
};

// "1 journey", "3 journeys".
export function plural(n, word) {
  return `${fmt.n(n)} ${word}${n === 1 ? "" : "s"}`;
}

export function card(label, value, note) {
  return h("div", { class: "card" },
    h("div", { class: "label" }, label),
    h("div", { class: "value" }, value),
    note ? h("div", { class: "note" }, note) : null);
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind || text}` }, text);
}

export function link(href, ...children) {
  return h("a", { href }, ...children);
}

export function table(columns, rows, rowAttrs) {
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null, scope: "col" }, c.label)))),
    h("tbody", {}, rows.map((row, i) => h("tr", rowAttrs ? rowAttrs(row, i) : {},
      columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(row)))))));
}

export function errorBox(error) {
  return h("div", { class: "error", role: "alert" }, error.message || String(error));
}

// What to send to fill a view: a command a person can paste as it is.
export function emptyState(what, events) {
  const body = JSON.stringify({ batch: events }, null, 1).replace(/\n\s*/g, " ");
  const command = [
    `curl -s ${location.origin}/v1/events \\`,
    `  -H "Authorization: Bearer $WRITE_KEY" -H 'Content-Type: application/json' \\`,
    `  -d '${body}'`,
  ].join("\n");
  return h("div", { class: "empty" },
    h("p", {}, what),
    h("p", { class: "muted" }, "Send events with the write key that journeymap up printed (or .journeymap/keys.json), for example:"),
    h("pre", {}, h("code", {}, command)));
}

export function exampleJourney(customer = "alice", product = "bike") {
  const at = (minutes) => new Date(Date.now() - (60 - minutes) * 60000).toISOString().replace(/\.\d+Z$/, "Z");
  return [
    { event_id: `${customer}-1`, customer_id: customer, type: "ad_click", channel: "ads", product_id: product, timestamp: at(0) },
    { event_id: `${customer}-2`, customer_id: customer, type: "product_view", channel: "web", product_id: product, timestamp: at(5) },
    { event_id: `${customer}-3`, customer_id: customer, type: "add_to_cart", channel: "web", product_id: product, timestamp: at(9) },
    { event_id: `${customer}-4`, customer_id: customer, type: "purchase", channel: "web", product_id: product, revenue: 499, timestamp: at(12) },
  ];
}
