// Starts Swagger UI on /docs. A file of its own, not an inline script, so that the
// page's Content-Security-Policy allows the scripts of this origin alone.
"use strict";

(function () {
  const viewer = document.getElementById("swagger-ui");
  const csrfCookie = viewer.dataset.csrfCookie;
  const csrfHeader = viewer.dataset.csrfHeader;
  const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

  function readCookie(name) {
    for (const part of document.cookie.split(";")) {
      const [key, ...value] = part.trim().split("=");
      if (key === name) {
        return decodeURIComponent(value.join("="));
      }
    }
    return null;
  }

  function prepare(request) {
    const headers = request.headers;
    for (const name of Object.keys(headers)) {
      // With cookie transport a password-flow login answers no access_token (the
      // cookies carry it): Swagger UI would send "Bearer undefined", which the
      // service refuses. The cookies authenticate the request instead.
      if (
        name.toLowerCase() === "authorization" &&
        /^Bearer\s*(undefined|null)?\s*$/.test(headers[name])
      ) {
        delete headers[name];
      }
    }
    // Cookie transport: unsafe requests send the CSRF cookie's value back, as the
    // service's own front end would.
    const method = (request.method || "GET").toUpperCase();
    if (csrfCookie && !SAFE_METHODS.has(method)) {
      const token = readCookie(csrfCookie);
      if (token) {
        headers[csrfHeader] = token;
      }
    }
    return request;
  }

  window.ui = SwaggerUIBundle({
    url: viewer.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // No badge from the online validator: the page works offline.
    validatorUrl: null,
    presets: [
      SwaggerUIBundle.presets.apis,
      SwaggerUIBundle.SwaggerUIStandalonePreset,
    ],
    requestInterceptor: prepare,
  });
})();
