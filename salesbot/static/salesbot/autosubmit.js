// A <select data-autosubmit> submits its form when changed: what the inline onchange="this.form.submit()"
// did, now that the admin's Content-Security-Policy (script-src 'self') runs no inline handler.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
});
