// The JSON API as the console calls it: same origin, the session cookie, ETags.

const cached = new Map(); // url -> {etag, body}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function failure(response) {
  let detail = `${response.status} ${response.statusText}`;
  try {
    const problem = await response.json();
    detail = problem.detail || problem.title || detail;
    if (Array.isArray(problem.errors) && problem.errors.length) {
      detail += ": " + problem.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    }
  } catch (_) { /* not JSON: keep the status line */ }
  if (response.status === 401) window.dispatchEvent(new CustomEvent("signed-out", { detail }));
  return new ApiError(response.status, detail);
}

// The body, and whether it changed since the last call for this URL (304 = unchanged).
export async function get(url) {
  const known = cached.get(url);
  const headers = { Accept: "application/json" };
  if (known) headers["If-None-Match"] = known.etag;
  const response = await fetch(url, { headers, credentials: "same-origin" });
  if (response.status === 304 && known) return { body: known.body, changed: false };
  if (!response.ok) throw await failure(response);
  const body = await response.json();
  const etag = response.headers.get("ETag");
  if (etag) cached.set(url, { etag, body });
  return { body, changed: true };
}

export async function getBody(url) {
  return (await get(url)).body;
}

// A change: the console's header marks it as ours (see shared/web/auth.py).
export async function send(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Journeymap-Console": "1" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

export function forget() {
  cached.clear();
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value)) value.forEach((v) => search.append(name, v));
    else if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const enc = encodeURIComponent;
