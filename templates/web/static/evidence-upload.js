// The evidence form's upload progress: an enhancement only. Without this script the form posts as it is, and the
// server answers the same (a redirect to the case page, or the page again with the refusal beside its field).
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-progress")) return;
  const file = form.querySelector("input[type=file]");
  if (!file || file.files.length === 0 || !window.FormData) return;  // nothing to watch: the ordinary post
  event.preventDefault();
  const bar = form.querySelector("progress.upload");
  const button = form.querySelector("button[type=submit]");
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable && bar) { bar.max = e.total; bar.value = e.loaded; }
  });
  xhr.addEventListener("load", () => {
    const answered = new URL(xhr.responseURL || form.action);
    if (answered.pathname !== new URL(form.action).pathname) {  // stored: redirected to the case page
      const item = answered.searchParams.get("item");
      window.location.assign(answered.href + (item ? `#evidence-${item}` : ""));
      return;
    }
    // Refused: the page the server sent back, with what was typed and the message beside its field.
    const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    document.title = page.title;
    document.body.replaceWith(page.body);
    // (autofocus does not run again for a body replaced: the error summary is focused here, as on a page load)
    const summary = document.querySelector(".error-summary[autofocus]");
    const again = document.getElementById(form.id);
    if (summary) summary.focus();
    else if (again) again.scrollIntoView();
  });
  xhr.addEventListener("error", () => {
    if (bar) bar.hidden = true;
    button.disabled = false;
    const note = document.createElement("p");
    note.className = "error";
    note.setAttribute("role", "alert");
    note.textContent = "The upload stopped before the server answered (the file may be over the size limit); "
      + "nothing was added. Try again, or choose a smaller file.";
    button.parentElement.before(note);
  });
  if (bar) { bar.hidden = false; bar.value = 0; }
  button.disabled = true;
  xhr.send(new FormData(form));
});
