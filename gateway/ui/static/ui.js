// Pasientens journaldokumenter – progressive enhancement only. Every page
// works without this file: filters and sorting are plain GET forms and
// links. It adds a loading state and arrow-key movement in the document
// table (active only while focus is in the table, WCAG 2.1.4).
(function () {
  "use strict";

  // Loading state: a form or link marked data-loading="text" announces the
  // text in the page's status region and marks the results busy.
  function showLoading(text) {
    var status = document.getElementById("status");
    var results = document.querySelector(".results");
    if (status) {
      status.textContent = text || "Laster …";
      status.classList.add("loading-indicator");
    }
    if (results) {
      results.setAttribute("aria-busy", "true");
    }
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-loading")) {
      showLoading(form.getAttribute("data-loading"));
    }
  });

  document.addEventListener("click", function (e) {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) {
      return;
    }
    var a = e.target instanceof Element ? e.target.closest("a[data-loading]") : null;
    if (a) {
      showLoading(a.getAttribute("data-loading"));
    }
  });

  // A page restored from the back/forward cache must not stay "busy".
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted) {
      return;
    }
    var results = document.querySelector(".results");
    if (results) {
      results.removeAttribute("aria-busy");
    }
    var status = document.getElementById("status");
    if (status) {
      status.classList.remove("loading-indicator");
    }
  });

  // Arrow keys move between the documents of a table marked data-rownav;
  // Home and End go to the first and last.
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) {
      return;
    }
    var current = document.activeElement;
    if (!(current instanceof HTMLElement)) {
      return;
    }
    var table = current.closest("table[data-rownav]");
    if (!table) {
      return;
    }
    var links = Array.prototype.slice.call(table.querySelectorAll("tbody a.row-link"));
    var i = links.indexOf(current);
    var next = -1;
    switch (e.key) {
      case "ArrowDown":
        next = i < 0 ? 0 : Math.min(i + 1, links.length - 1);
        break;
      case "ArrowUp":
        next = i < 0 ? 0 : Math.max(i - 1, 0);
        break;
      case "Home":
        next = i < 0 ? -1 : 0;
        break;
      case "End":
        next = i < 0 ? -1 : links.length - 1;
        break;
      default:
        return;
    }
    if (next >= 0 && links[next]) {
      e.preventDefault();
      links[next].focus();
    }
  });
})();
