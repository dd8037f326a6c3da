/* Small enhancements; every page works without them.
 * - copy buttons (hidden until this script shows them);
 * - the live refresh interval is remembered per list in localStorage.
 * Polling itself is htmx's (hx-trigger="every Ns [visible]"), paused while
 * the tab is hidden. */
(function () {
  "use strict";

  function showCopyButtons(root) {
    if (!navigator.clipboard) return;
    root.querySelectorAll("button.copy[hidden]").forEach(function (button) { button.hidden = false; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) return;
    var text = button.dataset.copy;
    if (!text && button.dataset.copyFrom) {
      var source = document.getElementById(button.dataset.copyFrom);
      text = source ? source.textContent : "";
    }
    navigator.clipboard.writeText(text || "").then(function () {
      button.classList.add("copied");
      setTimeout(function () { button.classList.remove("copied"); }, 1200);
    });
  });

  function rememberRefresh(root) {
    root.querySelectorAll("select[name=refresh]").forEach(function (select) {
      var key = "dashboard-refresh:" + location.pathname;
      select.addEventListener("change", function () { localStorage.setItem(key, select.value); });
      var params = new URLSearchParams(location.search);
      var saved = localStorage.getItem(key);
      if (!params.has("refresh") && saved && select.value !== saved) {
        select.value = saved;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    showCopyButtons(document);
    rememberRefresh(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) { showCopyButtons(event.detail.target.parentNode || document); });
  document.addEventListener("htmx:oobAfterSwap", function (event) { showCopyButtons(event.detail.target); });
  // Back/Forward: htmx replaced the whole body with the page as it was.
  document.addEventListener("htmx:historyRestore", function () { showCopyButtons(document); });
})();
