// The one place the island talks to the server: JSON in, {ok, status, data} out.
// Never throws for HTTP errors or a dropped connection; callers decide what a status means.

let csrfToken = "";

export function setCsrfToken(token) {
  csrfToken = token || "";
}

async function request(method, url, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken;
  let response;
  try {
    response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    return { ok: false, status: 0, data: { detail: `The server could not be reached (${error.message}).` } };
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text.slice(0, 300) };
    }
  }
  return { ok: response.ok, status: response.status, data };
}

export const api = {
  get: (url) => request("GET", url),
  post: (url, body = {}) => request("POST", url, body),
  patch: (url, body) => request("PATCH", url, body),
  delete: (url) => request("DELETE", url),
};

// A message for a failed response, whatever its shape.
export function problemText(result) {
  if (!result) return "Something went wrong.";
  if (result.status === 0) return result.data?.detail;
  return result.data?.detail || `The server answered ${result.status}.`;
}
