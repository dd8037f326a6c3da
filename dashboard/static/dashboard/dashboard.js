/* Small enhancements; every page works without them.
 * - copy buttons (hidden until this script shows them);
 * - the live refresh interval is remembered per list in localStorage;
 * - the theme switch (light, dark, or the system's; theme.js applies it);
 * - the time zone switch (the server's or this browser's; dashboard.timezones)
 *   and ages ("3 min ago", dashboard.formatting.relative_time) kept current;
 * - keyboard shortcuts, listed in the dialog "?" opens (dashboard/base.html).
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

  // --- theme -------------------------------------------------------------
  var THEME_KEY = "dashboard-theme";

  function setTheme(theme) {
    if (theme === "light" || theme === "dark") {
      document.documentElement.dataset.theme = theme;
      localStorage.setItem(THEME_KEY, theme);
    } else {
      delete document.documentElement.dataset.theme;
      localStorage.removeItem(THEME_KEY);
    }
  }

  function showThemeSwitch(root) {
    within(root, "select[data-theme-switch]").forEach(function (select) {
      select.value = document.documentElement.dataset.theme || "";
      select.closest(".theme-switch").hidden = false;
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-theme-switch]")) setTheme(event.target.value);
  });

  // --- time zone and ages ---------------------------------------------------
  var ZONE_COOKIE = "dashboard_time_zone";

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { return ""; }
  }

  function showTimeZoneSwitch(root) {
    within(root, "select[data-time-zone-switch]").forEach(function (select) {
      var zone = browserZone();
      var listed = Array.prototype.some.call(select.options, function (option) { return option.value === zone; });
      if (zone && !listed && zone !== select.dataset.serverZone) {
        select.add(new Option("this browser · " + zone, zone));
      } else if (zone && listed && select.value === zone) {
        select.selectedOptions[0].textContent = "this browser · " + zone;
      }
      select.closest(".zone-switch").hidden = false;
    });
  }

  document.addEventListener("change", function (event) {
    if (!event.target.matches("select[data-time-zone-switch]")) return;
    var zone = event.target.value;
    document.cookie = ZONE_COOKIE + "=" + (/^[A-Za-z0-9_+\/-]+$/.test(zone) ? zone + "; max-age=31536000" : "; max-age=0") +
      "; path=/; samesite=lax";
    location.reload();
  });

  // The same words as relative_time() on the server.
  function age(moment) {
    var seconds = (Date.now() - moment.getTime()) / 1000, ahead = seconds < 0, amount;
    seconds = Math.abs(seconds);
    if (seconds < 10) return "just now";
    if (seconds < 60) amount = Math.floor(seconds) + " s";
    else if (seconds < 3600) amount = Math.floor(seconds / 60) + " min";
    else if (seconds < 2 * 86400) amount = Math.floor(seconds / 3600) + " h";
    else amount = Math.floor(seconds / 86400) + " d";
    return ahead ? "in " + amount : amount + " ago";
  }

  function refreshAges(root) {
    within(root, "time[data-relative]").forEach(function (element) {
      var moment = new Date(element.getAttribute("datetime"));
      if (!isNaN(moment)) element.textContent = age(moment);
    });
  }
  setInterval(function () { refreshAges(document.body); }, 15000);

  // --- narrow screens ----------------------------------------------------------
  // The filter form takes a phone's whole screen: there it starts folded
  // under its summary, and unfolds again when the window grows.
  var narrow = window.matchMedia("(max-width: 40rem)");

  function foldFilters(root) {
    if (narrow.matches) within(root, "details.filter-panel[open]").forEach(function (panel) { panel.open = false; });
  }

  narrow.addEventListener("change", function () {
    if (!narrow.matches) document.querySelectorAll("details.filter-panel").forEach(function (panel) { panel.open = true; });
  });

  // --- keyboard shortcuts ----------------------------------------------------
  // Single keys, never with Ctrl, Alt or Meta (the browser's own), and never
  // while the focus is in a field: there the key is the user's typing.
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])") !== null;
  }

  function shortcutsDialog() { return document.getElementById("shortcuts"); }

  function showShortcutsButton(root) {
    if (!shortcutsDialog()) return;
    within(root, "[data-shortcuts-open]").forEach(function (button) { button.hidden = false; });
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts-open]") && shortcutsDialog()) shortcutsDialog().showModal();
  });

  function focusSearch() {
    var field = document.querySelector(".page input[type=search]") ||
      document.querySelector(".page form.filters input:not([type=hidden]), .page form.filters select");
    if (!field) return false;
    var panel = field.closest("details");
    if (panel) panel.open = true;  // folded on a narrow screen
    field.focus();
    if (field.select) field.select();
    return true;
  }

  // The rows j and k move through: those of the page's first results table
  // that link somewhere; a row is "current" when its first link has focus,
  // so Enter opens it as it would any focused link.
  function tableRows() {
    var table = document.querySelector(".page table.results-table");
    if (!table) return [];
    return Array.prototype.filter.call(table.querySelectorAll("tbody tr"), function (row) {
      return row.querySelector("a[href]") !== null;
    });
  }

  function moveRow(step) {
    var rows = tableRows();
    if (!rows.length) return false;
    var current = rows.findIndex(function (row) { return row.contains(document.activeElement); });
    var next = current === -1 ? (step > 0 ? 0 : rows.length - 1) : Math.min(Math.max(current + step, 0), rows.length - 1);
    var link = rows[next].querySelector("a[href]");
    link.focus();
    rows[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  // Live refresh: off becomes the remembered interval (or the first one);
  // any interval becomes off. The select's change does the rest (htmx).
  function toggleRefresh() {
    var select = document.querySelector(".page select[name=refresh]");
    if (!select || select.options.length < 2) return false;
    var off = select.options[0].value;
    if (select.value !== off) {
      select.value = off;
    } else {
      var saved = localStorage.getItem(refreshKey());
      var known = Array.prototype.some.call(select.options, function (option) { return option.value === saved; });
      select.value = saved && saved !== off && known ? saved : select.options[1].value;
    }
    select.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  function goToSection(key) {
    var link = document.querySelector("nav.sections a[data-shortcut=\"" + key + "\"]");
    if (!link) return false;
    link.click();
    return true;
  }

  var awaitingSection = null;  // the timer while a "g" waits for its second key

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    var dialog = shortcutsDialog();
    if (dialog && dialog.open) return;
    var key = event.key;
    if (awaitingSection !== null) {
      clearTimeout(awaitingSection);
      awaitingSection = null;
      if (goToSection(key)) event.preventDefault();
      return;
    }
    var handled = false;
    if (key === "/") handled = focusSearch();
    else if (key === "j") handled = moveRow(1);
    else if (key === "k") handled = moveRow(-1);
    else if (key === "r") handled = toggleRefresh();
    else if (key === "?" && dialog) { dialog.showModal(); handled = true; }
    else if (key === "g") {
      awaitingSection = setTimeout(function () { awaitingSection = null; }, 1500);
      handled = true;
    }
    if (handled) event.preventDefault();
  });

  htmx.onLoad(function (root) {
    showCopyButtons(root);
    applyRememberedRefresh(root);
    showThemeSwitch(root);
    showTimeZoneSwitch(root);
    refreshAges(root);
    foldFilters(root);
    showShortcutsButton(root);
  });
})();
