// Keyboard use of the report list: j / k move between reports, Enter opens one (native link),
// "/" jumps to the title search. No inline scripts anywhere: the pages run under a strict CSP.
(function () {
  "use strict";
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-keynav] [data-row-link]"));
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) { return; }
    if (event.key === "/") {
      // the page's own filter first (a list's title search), else the header's search box
      var search = document.querySelector("main form[role=search] input[name=q]") ||
        document.querySelector("form[role=search] input[name=q]");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
      return;
    }
    if (event.key !== "j" && event.key !== "k") { return; }
    var links = rowLinks();
    if (!links.length) { return; }
    var index = links.indexOf(document.activeElement);
    if (event.key === "j") { index = index < 0 ? 0 : Math.min(index + 1, links.length - 1); }
    else { index = index < 0 ? 0 : Math.max(index - 1, 0); }
    event.preventDefault();
    links[index].focus();
    links[index].scrollIntoView({ block: "nearest" });
  });
  // After htmx swaps an error summary into view, move focus to it so it is read out.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
