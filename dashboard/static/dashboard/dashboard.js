/* Small enhancements; every page works without them.
 * - copy buttons (hidden until this script shows them);
 * - the live refresh interval is remembered per list in localStorage.
 * Polling itself is htmx's (hx-trigger="every Ns" on an element marked
 * data-poll-while-visible), paused here while the tab is hidden: htmx's own
 * trigger filters are code it would evaluate, which the Content-Security-Policy
 * (and htmx-config's allowEval) forbid.
 *
 * The enhancements run through htmx.onLoad, on whatever content is new: the
 * page as first loaded, each element a swap puts in (out-of-band ones
 * included), and the body's content a history restore (Back/Forward) puts
 * back. The layout loads this script after htmx, both deferred. */
(function () {
  "use strict";

  // ``root`` itself when it matches ``selector``, and its descendants that do.
  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll(selector));
    if (root.matches(selector)) found.unshift(root);
    return found;
  }

  function showCopyButtons(root) {
    if (!navigator.clipboard) return;
    within(root, "button.copy[hidden]").forEach(function (button) { button.hidden = false; });
  }

  // A poll while the tab is hidden is not sent; the next one after it shows again is.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (document.visibilityState !== "visible" && event.detail.elt.hasAttribute("data-poll-while-visible")) {
      event.preventDefault();
    }
  });

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

  function refreshKey() { return "dashboard-refresh:" + location.pathname; }

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name=refresh]")) localStorage.setItem(refreshKey(), event.target.value);
  });

  // Back/Forward show a list as it was: the remembered interval applies when
  // a list is opened, not when history brings one back (choosing it would
  // push a new entry, and Back would never get past it).
  var restoringHistory = false;
  ["htmx:historyCacheHit", "htmx:historyCacheMissLoad"].forEach(function (name) {
    document.addEventListener(name, function () { restoringHistory = true; });
  });
  document.addEventListener("htmx:historyRestore", function () { restoringHistory = false; });

  function applyRememberedRefresh(root) {
    if (restoringHistory || new URLSearchParams(location.search).has("refresh")) return;
    var saved = localStorage.getItem(refreshKey());
    if (!saved) return;
    within(root, "select[name=refresh]").forEach(function (select) {
      if (select.value === saved || !Array.prototype.some.call(select.options, function (option) { return option.value === saved; })) return;
      select.value = saved;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  htmx.onLoad(function (root) {
    showCopyButtons(root);
    applyRememberedRefresh(root);
  });
})();
