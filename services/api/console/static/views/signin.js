import { forget, send } from "../api.js";
import { h, replace } from "../dom.js";

export async function render(root, _params, ctx) {
  const error = h("div", { class: "error", role: "alert", hidden: !ctx.message }, ctx.message || "");
  const key = h("input", { id: "key", name: "key", type: "password", autocomplete: "current-password", required: true, autofocus: true });
  const form = h("form", { "aria-label": "Sign in" },
    h("label", { for: "key" }, "API key", key),
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      await send("POST", "/v1/session", { key: key.value });
    } catch (failure) {
      replace(error, failure.message);
      error.hidden = false;
      key.select();
      return;
    }
    forget();
    await ctx.signedIn();
    const back = history.state?.back;
    ctx.navigate(back && back !== "/sign-in" ? back : "/", { replaceState: true });
  });
  root.append(h("section", { class: "signin panel" },
    h("h1", {}, "Sign in to journeymap"),
    h("p", { class: "sub" }, "Use the read key to look, or the alerts key to also acknowledge and resolve alerts. `journeymap up` prints both, and keeps them in .journeymap/keys.json."),
    error, form,
    h("p", { class: "muted" }, "The key stays in an HttpOnly cookie for this site only; Sign out removes it.")));
  key.focus();
}
