// "Save as test" on the run page: fills each step's expected value from what the run
// recorded when a check is chosen, sends the test to the API, and shows each refusal beside
// the field it names (expectations[2].value → the third chosen step's value). What was typed
// stays. The kinds that act on the world are the canvas's (static/src/canvas/effects.js).
const form = document.querySelector("[data-save-test]");
const KEY_PLACEHOLDER = "{{ idempotency_key }}";
const ACTS = new Set(["email.send", "db.query", "queue.publish", "flow.call", "flow.wait", "flow.approval", "flow.delay"]);

function actsOnWorld(kind, config = {}) {
  if (ACTS.has(kind)) return true;
  if (kind === "http.request") return !["GET", "HEAD"].includes((config.method || "GET").toUpperCase());
  if (kind === "code.container") return Boolean(config.effects);
  return false;
}

function configs() {
  const source = document.getElementById("run-graph");
  const graph = source ? JSON.parse(source.textContent) : { nodes: [] };
  return Object.fromEntries((graph.nodes || []).map((node) => [node.id, node.config || {}]));
}

function recorded(fieldset, aspect) {
  const script = fieldset.querySelector(`[data-recorded="${aspect}"] script`);
  return script ? JSON.parse(script.textContent) : null;
}

// Every run has its own idempotency key: a test compares what a replay would send with
// the key replaced by a placeholder, as the server records the run it keeps.
function withoutKey(value, key) {
  if (!key) return value;
  return JSON.parse(JSON.stringify(value).split(key).join(KEY_PLACEHOLDER));
}

function prefill(fieldset) {
  const check = fieldset.querySelector("[data-check]").value;
  if (check === "status") return fieldset.dataset.status;
  if (check === "sent") return JSON.stringify(withoutKey(recorded(fieldset, "sent"), fieldset.dataset.key), null, 2);
  if (check) return JSON.stringify(recorded(fieldset, "output"), null, 2);
  return "";
}

function onCheck(fieldset) {
  const check = fieldset.querySelector("[data-check]").value;
  const value = fieldset.querySelector("[data-value]");
  const ignore = fieldset.querySelector("[data-ignore]");
  // A value typed over the previous pre-fill is kept; an untouched one follows the check.
  if (!value.value || value.value === value.dataset.filled) {
    value.value = prefill(fieldset);
    value.dataset.filled = value.value;
  }
  value.disabled = !check;
  ignore.disabled = !check || check === "status";
  fieldset.querySelector("[data-value-label]").textContent = check === "status" ? "Expected status" : "Expected value (JSON)";
}

function showError(scope, field, message) {
  const line = scope.querySelector(`[data-error-for="${field}"]`);
  if (!line) return false;
  line.textContent = message;
  line.hidden = false;
  const control = { name: "#test-name", check: "[data-check]", value: "[data-value]", ignore: "[data-ignore]" }[field];
  scope.querySelector(control)?.setAttribute("aria-invalid", "true");
  return true;
}

function clearErrors() {
  form.querySelectorAll("[data-error-for]").forEach((line) => { line.hidden = true; line.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((control) => control.removeAttribute("aria-invalid"));
}

// The expectations, and the fieldset each one came from (to put the server's errors there).
function collect() {
  const expectations = [];
  const sources = [];
  let invalid = false;
  form.querySelectorAll("[data-expect]").forEach((fieldset) => {
    const check = fieldset.querySelector("[data-check]").value;
    if (!check) return;
    const text = fieldset.querySelector("[data-value]").value;
    let value = text.trim();
    if (check !== "status") {
      try {
        value = JSON.parse(text);
      } catch (error) {
        showError(fieldset, "value", `This is not JSON: ${error.message}`);
        invalid = true;
        return;
      }
    }
    const item = { node: fieldset.dataset.expect, check: check === "sent" ? "subset" : check, value };
    if (check === "sent") item.on = "sent";
    const ignore = fieldset.querySelector("[data-ignore]").value.split(",").map((p) => p.trim()).filter(Boolean);
    if (ignore.length && check !== "status") item.ignore = ignore;
    expectations.push(item);
    sources.push(fieldset);
  });
  return { expectations, sources, invalid };
}

// "expectations[1].value" → the second chosen step's value; "name" → the name.
function placeError(error, sources) {
  const found = /^expectations\[(\d+)\](?:\.(\w+))?/.exec(error.field || "");
  if (found && sources[Number(found[1])]) {
    const field = ["node", "on"].includes(found[2]) || !found[2] ? "check" : found[2];
    if (showError(sources[Number(found[1])], field, error.message)) return;
  }
  if (error.field === "name" && showError(form, "name", error.message)) return;
  showError(form, "expectations", error.message);
}

async function submit(event) {
  event.preventDefault();
  clearErrors();
  const result = form.querySelector("[data-save-result]");
  result.textContent = "";
  const { expectations, sources, invalid } = collect();
  const name = form.querySelector("#test-name").value;
  if (invalid) return;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  result.textContent = "Saving…";
  let response;
  let data = null;
  try {
    response = await fetch(form.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ name, expectations }),
    });
    data = await response.json().catch(() => null);
  } catch (error) {
    result.textContent = `The server could not be reached (${error.message}).`;
    button.disabled = false;
    return;
  }
  button.disabled = false;
  if (response.status === 201) {
    result.innerHTML = "";
    const saved = document.createElement("span");
    saved.className = "saved";
    saved.textContent = `Saved as test “${data.name}”. It runs on every version saved from now on. `;
    const link = document.createElement("a");
    link.href = form.dataset.designer;
    link.textContent = "Open the designer";
    result.append(saved, link);
    return;
  }
  result.textContent = "";
  const errors = data?.errors?.length ? data.errors : [{ field: null, message: data?.detail || `The server answered ${response.status}.` }];
  errors.forEach((error) => placeError(error, sources));
}

function csrfToken() {
  const headers = document.body.getAttribute("hx-headers");
  try {
    return JSON.parse(headers)["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

if (form) {
  const config = configs();
  form.querySelectorAll("[data-expect]").forEach((fieldset) => {
    if (!actsOnWorld(fieldset.dataset.kind, config[fieldset.dataset.expect])) {
      fieldset.querySelector("option[data-acts]").remove();
    }
    fieldset.querySelector("[data-check]").addEventListener("change", () => onCheck(fieldset));
  });
  form.addEventListener("submit", submit);
}
