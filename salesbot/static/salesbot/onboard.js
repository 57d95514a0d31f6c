// The onboarding form's "Test connection": asks the provider with the key as typed (one call, nothing saved)
// and shows the answer beside the button, without leaving the page (the key stays in its field). Without
// JavaScript the button submits the form and the page answers the same way.
(function () {
  "use strict";
  function field(form, name) {
    var el = form.elements.namedItem(name);
    return el ? el.value : "";
  }
  function init() {
    var button = document.getElementById("check-connection");
    var answer = document.getElementById("connection-answer");
    if (!button || !answer) { return; }
    var form = button.form;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var body = new FormData();
      ["csrfmiddlewaretoken", "slug", "provider", "account_id", "api_base_url", "api_key"].forEach(function (n) {
        body.append(n, field(form, n));
      });
      answer.className = "busy";
      answer.textContent = "Asking the provider…";
      button.disabled = true;
      fetch(button.dataset.url, {method: "POST", body: body, credentials: "same-origin",
                                 headers: {"X-Requested-With": "fetch"}})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          answer.className = data.ok ? "ok" : "error";
          answer.textContent = data.message;
        })
        .catch(function (err) {
          answer.className = "error";
          answer.textContent = "The check did not answer: " + err;
        })
        .finally(function () { button.disabled = false; });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
