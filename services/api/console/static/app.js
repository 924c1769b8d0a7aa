// The console's shell: who is signed in, which view a path shows, and live refresh.

import { forget, getBody, send } from "./api.js";
import { dispose } from "./charts.js";
import { errorBox, h, replace } from "./dom.js";

const POLL_MS = 3000;

const ROUTES = [
  [/^\/$/, "home", "home"],
  [/^\/sign-in$/, "signin", null],
  [/^\/customers$/, "customers", "customers"],
  [/^\/customers\/([^/]+)$/, "experience", "customers"],
  [/^\/customers\/([^/]+)\/journeys\/([^/]+)$/, "journey", "customers"],
  [/^\/funnels(?:\/([^/]+))?$/, "funnel", "funnels"],
  [/^\/flows(?:\/([^/]+))?$/, "flow", "flows"],
  [/^\/hotspots$/, "hotspots", "hotspots"],
  [/^\/alerts$/, "alerts", "alerts"],
  [/^\/alerts\/(\d+)$/, "alert", "alerts"],
];

const root = document.getElementById("view");
const state = { session: null, reason: null, view: null, generation: 0, polling: false };

function match(path) {
  for (const [pattern, name, nav] of ROUTES) {
    const found = path.match(pattern);
    if (found) return { name, nav, params: found.slice(1).map((p) => (p === undefined ? undefined : decodeURIComponent(p))) };
  }
  return null;
}

export function navigate(url, { replaceState = false } = {}) {
  if (replaceState) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  show();
}

// The session, or null; a key revoked since signing in leaves its reason to show.
async function whoAmI() {
  const session = await getBody("/v1/session");
  state.session = session.signed_in ? session : null;
  state.reason = session.reason;
  const who = document.getElementById("signed-in-as");
  const out = document.getElementById("sign-out");
  who.textContent = state.session ? `${state.session.key_name}${state.session.can_act ? " · can act on alerts" : " · read only"}` : "";
  out.hidden = !state.session;
}

async function show(message) {
  const generation = ++state.generation;
  state.view = null;
  dispose();
  const route = match(location.pathname);
  if (!route) {
    replace(root, errorBox(new Error(`no view at ${location.pathname}`)));
    return;
  }
  if (!state.session && route.name !== "signin") {
    await whoAmI();
    if (!state.session) history.replaceState({ back: location.pathname + location.search }, "", "/sign-in");
    message = message || state.reason;
  }
  const name = state.session || route.name === "signin" ? route.name : "signin";
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === route.nav && name !== "signin") a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const module = await import(`./views/${name}.js`);
  if (generation !== state.generation) return;
  // Each view draws into its own element: a refresh still under way when the person
  // moves on draws into a detached element, not over the next view.
  const container = h("div");
  replace(root, container);
  try {
    const view = await module.render(container, route.params, {
      session: state.session,
      navigate,
      message,
      signedIn: async () => { await whoAmI(); },
    });
    if (generation === state.generation) state.view = view || null;
  } catch (error) {
    if (generation === state.generation && error.status !== 401) container.append(errorBox(error));
  }
  if (name !== "signin") root.focus({ preventScroll: true });
}

async function poll() {
  if (state.polling || document.hidden || !state.session) return;
  state.polling = true;
  const status = document.getElementById("live-status");
  try {
    const generation = state.generation;
    await state.view?.refresh?.();
    const overview = await getBody("/v1/overview");
    const open = Object.values(overview.open_alerts).reduce((a, b) => a + b, 0);
    const count = document.getElementById("alert-count");
    count.hidden = open === 0;
    count.textContent = String(open);
    if (generation === state.generation) status.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    status.textContent = `live updates paused: ${error.message}`;
  } finally {
    state.polling = false;
  }
}

function forgetSession() {
  state.session = null;
  forget();
  document.getElementById("sign-out").hidden = true;
  document.getElementById("signed-in-as").textContent = "";
}

window.addEventListener("signed-out", (event) => {
  if (!state.session) return;
  forgetSession();
  const back = location.pathname === "/sign-in" ? "/" : location.pathname + location.search;
  history.replaceState({ back }, "", "/sign-in");
  show(event.detail);
});

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[href]");
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !match(url.pathname)) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

document.getElementById("sign-out").addEventListener("click", async () => {
  await send("DELETE", "/v1/session");
  forgetSession();
  navigate("/sign-in");
});

window.addEventListener("popstate", () => show());
setInterval(poll, POLL_MS);
show();
