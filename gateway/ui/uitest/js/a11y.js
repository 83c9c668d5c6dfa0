// Structural accessibility checks of the current page (WCAG 2.1 AA, the
// parts a script can decide). Returns a list of problems, empty when none.
(() => {
  const problems = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return s.display !== "none" && s.visibility !== "hidden" && (r.width > 0 || r.height > 0);
  };
  if (document.documentElement.lang !== "nb") {
    problems.push("html lang is " + JSON.stringify(document.documentElement.lang) + ", want nb");
  }
  if (!document.title.trim()) problems.push("the page has no title");
  if (document.querySelectorAll("main").length !== 1) problems.push("want exactly one <main>");
  if (document.querySelectorAll("h1").length !== 1) problems.push("want exactly one <h1>");
  const focusable = Array.from(document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, iframe, [tabindex]:not([tabindex='-1'])"));
  const first = focusable[0];
  if (!first || !first.classList.contains("skip-link") || first.getAttribute("href") !== "#main") {
    problems.push("the first focusable element is not a skip link to #main");
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const named = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    if (!named) problems.push("unlabelled control #" + el.id + " [" + el.name + "]");
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (visible(el) && !el.textContent.trim() && !el.getAttribute("aria-label")) {
      problems.push("a button or link without text: " + el.outerHTML.slice(0, 80));
    }
  }
  for (const t of document.querySelectorAll("table")) {
    if (!t.querySelector("caption") || !t.querySelector("caption").textContent.trim()) problems.push("table #" + t.id + " has no caption");
    for (const th of t.querySelectorAll("thead th")) {
      if (th.getAttribute("scope") !== "col") problems.push("table #" + t.id + " header without scope=col");
    }
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push("img without alt: " + img.src);
  }
  for (const f of document.querySelectorAll("iframe")) {
    if (!f.title.trim()) problems.push("iframe without title: " + f.src);
  }
  const ids = {};
  for (const el of document.querySelectorAll("[id]")) {
    if (ids[el.id]) problems.push("duplicate id " + el.id);
    ids[el.id] = true;
  }
  for (const el of document.querySelectorAll("[aria-describedby]")) {
    for (const id of el.getAttribute("aria-describedby").split(/\s+/).filter(Boolean)) {
      if (!document.getElementById(id)) problems.push("aria-describedby points at missing #" + id);
    }
  }
  if (!document.querySelector("[role=status], [role=alert], [aria-live]")) {
    problems.push("no live region for loading and error messages");
  }
  return problems;
})()
