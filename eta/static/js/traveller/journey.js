// Traveller journey: move focus to the error summary so screen readers announce it first.
// Everything works without this file; it only improves focus handling.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
