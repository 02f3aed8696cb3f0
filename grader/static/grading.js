// A submission a grading worker has: ask for it until it is graded, then put the page's new feedback (and
// attempts left) in place of "grading…", without reloading. Without this file the page refreshes itself.
(function () {
  "use strict";
  var INTERVAL_MS = 1000;

  function replaceFrom(doc, id) {
    var fresh = doc.getElementById(id), old = document.getElementById(id);
    if (fresh && old) old.replaceWith(fresh);
  }

  function showResult() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        replaceFrom(doc, "feedback");
        replaceFrom(doc, "attempts-left");
        var feedback = document.getElementById("feedback");
        if (feedback) {
          if (typeof window.renderMathInElement === "function") window.renderMathInElement(feedback);
          feedback.focus();
        }
      })
      .catch(function () { window.location.reload(); });
  }

  function poll(url) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (submission) {
        if (submission && submission.status !== "queued") showResult();
        else window.setTimeout(function () { poll(url); }, INTERVAL_MS);
      })
      .catch(function () { window.setTimeout(function () { poll(url); }, INTERVAL_MS * 3); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var section = document.querySelector("section.feedback[data-poll]");
    if (section) poll(section.getAttribute("data-poll"));
  });
})();
