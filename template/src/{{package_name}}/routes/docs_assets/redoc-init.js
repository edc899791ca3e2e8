// Starts ReDoc on /redoc. A file of its own, not an inline script, so that the
// page's Content-Security-Policy allows the scripts of this origin alone.
"use strict";

(function () {
  const viewer = document.getElementById("redoc");
  Redoc.init(viewer.dataset.openapiUrl, {}, viewer);
})();
