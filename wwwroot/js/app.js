// Small behaviours htmx does not cover. Kept tiny and framework-free.

// Antiforgery on every state-changing htmx request, including ones not sent from a form.
document.addEventListener("htmx:configRequest", (e) => {
  if (e.detail.verb === "get") return;
  const token = document.getElementById("af-token")?.value;
  if (token) e.detail.headers["RequestVerificationToken"] = token;
});

document.addEventListener("click", (e) => {
  const btn = e.target.closest("[data-copy]");
  if (!btn) return;
  const el = document.querySelector(btn.dataset.copy);
  if (!el) return;
  navigator.clipboard?.writeText(el.value ?? el.textContent).then(() => {
    const old = btn.textContent;
    btn.textContent = "Copied";
    setTimeout(() => (btn.textContent = old), 1500);
  });
});

// Deployment page: follow the log live over Server-Sent Events (plain EventSource: resumes by Last-Event-ID on its
// own), refresh the status/steps fragment when the status changes, and load earlier lines on demand.
function startLogStream(pre) {
  if (!pre.dataset.stream || pre.dataset.started) return;
  pre.dataset.started = "1";
  const es = new EventSource(pre.dataset.stream);
  const refresh = () => {
    // The pre carries the request (hx-get, from the page and handler names; target #summary): trigger it.
    if (document.getElementById("summary") && window.htmx) htmx.trigger(pre, "refresh");
  };
  es.addEventListener("log", (e) => {
    if (!pre.isConnected) return es.close();
    const follow = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    // HTML the server rendered from the log (every character escaped, colours as classes; LogView.Html).
    pre.insertAdjacentHTML("beforeend", e.data);
    countChatter();
    if (follow) pre.scrollTop = pre.scrollHeight;
  });
  es.addEventListener("status", () => { if (!pre.isConnected) return es.close(); refresh(); });
  es.addEventListener("done", () => { es.close(); refresh(); });
}

// How many builder lines the "show the builder's own output" toggle hides (LogView marks them .chatter).
function countChatter() {
  const count = document.getElementById("chatter-count");
  const n = document.querySelectorAll("#log .chatter").length;
  if (count) count.textContent = ` (${n} ${n === 1 ? "line" : "lines"})`;
}

function initPage(root) {
  root.querySelectorAll?.("pre.log[data-stream]").forEach(startLogStream);
  countChatter();
  const log = document.getElementById("log");
  if (log && log.dataset.stream === "" && log.scrollHeight) log.scrollTop = log.scrollHeight;
}
document.addEventListener("DOMContentLoaded", () => initPage(document));
document.addEventListener("htmx:load", (e) => initPage(e.detail.elt));

document.addEventListener("click", async (e) => {
  const btn = e.target.closest("[data-log-earlier]");
  if (!btn) return;
  const res = await fetch(`${btn.dataset.logEarlier}?before=${btn.dataset.before}`, { credentials: "same-origin" });
  if (!res.ok) return;
  const chunk = await res.json();
  const pre = document.getElementById("log");
  pre.insertAdjacentHTML("afterbegin", chunk.html);
  countChatter();
  btn.dataset.before = chunk.start;
  if (chunk.start === 0) btn.remove();
});

// Service page: "Copy password" asks the panel for the secret only when pressed (POST with the antiforgery token),
// so the password is never in the page itself.
document.addEventListener("click", async (e) => {
  const btn = e.target.closest("[data-copy-secret]");
  if (!btn) return;
  const token = document.getElementById("af-token")?.value ?? "";
  const res = await fetch(btn.dataset.copySecret, { method: "POST", credentials: "same-origin", headers: { RequestVerificationToken: token } });
  if (!res.ok) return;
  await navigator.clipboard?.writeText(await res.text());
  const old = btn.textContent;
  btn.textContent = "Copied";
  setTimeout(() => (btn.textContent = old), 1500);
});
