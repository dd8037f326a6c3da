/* The theme the browser remembers, applied before the page is painted.
 * The layout loads this small script in <head>, not deferred, so a page
 * pinned to light or dark never flashes the other. Without a remembered
 * choice (or without JavaScript) the stylesheet follows the system's
 * prefers-color-scheme. dashboard.js offers the switch that stores it. */
(function () {
  "use strict";
  try {
    var theme = localStorage.getItem("dashboard-theme");
    if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  } catch (error) {
    // Storage refused (private mode, a policy): follow the system.
  }
})();
