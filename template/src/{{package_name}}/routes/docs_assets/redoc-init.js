// Starts ReDoc on /redoc. A file of its own, not an inline script, so that the
// page's Content-Security-Policy allows the scripts of this origin alone.
"use strict";

(function () {
  const viewer = document.getElementById("redoc");
  // Its styles go into <style> elements with this nonce, which the page's policy
  // allows.
  Redoc.init(viewer.dataset.openapiUrl, { nonce: viewer.dataset.nonce }, viewer);
})();
