// The pages that links sent by email open: they read the token from the URL
// fragment (which no server receives), take it out of the address bar and the
// history, and post it to the service.
"use strict";

(function () {
  const token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  window.history.replaceState(null, "", window.location.pathname);
  const status = document.getElementById("status");
  const say = (text) => { status.textContent = text; };

  async function post(path, body) {
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "omit",
      });
    } catch (error) {
      return { ok: false, detail: "The service cannot be reached; try again later." };
    }
    let detail = response.ok ? "Done." : "Something went wrong; try again later.";
    try {
      const data = await response.json();
      if (typeof data.detail === "string") {
        detail = data.detail;
      } else if (Array.isArray(data.detail) && data.detail.length > 0) {
        detail = String(data.detail[0].msg);
      }
    } catch (error) {
      // Not JSON: keep the generic message.
    }
    return { ok: response.ok, detail };
  }

  if (!token) {
    say("This link is incomplete: open the whole link from the message.");
    return;
  }

  if (document.body.dataset.page === "verify") {
    post("/auth/verify", { token }).then((outcome) => say(outcome.detail));
    return;
  }

  const form = document.getElementById("reset");
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = form.elements.password.value;
    if (password !== form.elements.confirm.value) {
      say("The two passwords differ.");
      return;
    }
    const outcome = await post("/auth/reset-password", { token, new_password: password });
    say(outcome.detail);
    if (outcome.ok) {
      form.hidden = true;
    }
  });
})();
