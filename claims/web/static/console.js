// The console's own script (no build step): pause polling while the tab is hidden.
// An element with hx-trigger="every 60s" and the attribute data-poll-visible sends no
// request while document.visibilityState is not "visible" (htmx cannot eval trigger
// filters under the Content-Security-Policy), and refreshes once when the tab shows again.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.hasAttribute("data-poll-visible") && document.visibilityState !== "visible") {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && window.htmx) {
      document.querySelectorAll("[data-poll-visible]").forEach(function (elt) {
        window.htmx.trigger(elt, "refresh");
      });
    }
  });
})();
