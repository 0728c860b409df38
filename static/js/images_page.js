// The Images page: the upload's progress bar (htmx reports the request's upload progress),
// "Converting…" once the bytes are sent (the server checks and stores the image), and a
// cleared upload form after a registration. A refused one keeps everything typed.
const form = document.querySelector("[data-upload-form]");

if (form) {
  const bar = form.querySelector("[data-upload-progress]");
  const state = form.querySelector("[data-upload-state]");
  form.addEventListener("htmx:beforeRequest", () => {
    bar.value = 0;
    state.textContent = "Uploading…";
  });
  form.addEventListener("htmx:xhr:progress", (event) => {
    const { loaded, total } = event.detail;
    if (!total) return;
    bar.value = Math.round((loaded / total) * 100);
    if (loaded >= total) state.textContent = "Checking and storing the image…";
  });
}

for (const each of document.querySelectorAll("#register-form, [data-upload-form]")) {
  each.addEventListener("htmx:afterRequest", (event) => {
    // A refusal (400, 413) is swapped in too, so htmx counts it "successful": ask the status.
    if (event.detail.elt === each && event.detail.xhr.status < 300) each.reset();
  });
}
