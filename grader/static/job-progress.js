// Progress bars of long jobs (templates/_job_progress.html): ask each job's JSON and move its bar until it ends,
// then reload the page once (the script is only on pages of jobs still running) to show the result.
(function () {
  "use strict";
  var INTERVAL_MS = 1000;

  function follow(box) {
    var bar = box.querySelector("progress"), state = box.querySelector(".job-state");
    fetch(box.getAttribute("data-job"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) return;
        if (job.total) { bar.max = job.total; bar.value = job.done; }
        state.textContent = job.state + ", " + job.done + " of " + (job.total === null ? "?" : job.total);
        if (job.state !== "done" && job.state !== "failed") window.setTimeout(function () { follow(box); }, INTERVAL_MS);
        else window.location.reload();  // the page rendered while it ran: now its result and download link
      })
      .catch(function () { window.setTimeout(function () { follow(box); }, INTERVAL_MS * 3); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".job-progress[data-job]").forEach(follow);
  });
})();
