/* 青山 console, /imports: while the shown import job is queued or running, ask /api/v1/jobs/<id> every second
   and reload the page once it has finished (the page then shows the import report). */
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var state = box.getAttribute("data-job-state");
  if (state !== "queued" && state !== "running") { return; }
  var id = box.getAttribute("data-job");
  function poll() {
    fetch("/api/v1/jobs/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (job && job.state !== "queued" && job.state !== "running") {
          window.location.replace("/imports?job=" + encodeURIComponent(id));
          return;
        }
        if (job && job.progress) {
          var bar = box.querySelector("progress");
          if (bar) { bar.max = job.progress.files_total || 1; bar.value = job.progress.files_done || 0; }
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
