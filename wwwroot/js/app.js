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
