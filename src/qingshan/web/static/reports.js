/* 青山 console, /reports?job=<id>: while the report build is queued or running, ask /reports/jobs/<id>/status
   every second, show its stage, and reload the page once it has finished (the page then offers the download or
   shows the error). */
(function () {
  "use strict";
  var box = document.getElementById("report-job");
  if (!box) { return; }
  var state = box.getAttribute("data-job-state");
  if (state !== "queued" && state !== "running") { return; }
  var id = box.getAttribute("data-report-job");
  function poll() {
    fetch("/reports/jobs/" + encodeURIComponent(id) + "/status", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (job && job.state !== "queued" && job.state !== "running") {
          window.location.replace("/reports?job=" + encodeURIComponent(id));
          return;
        }
        if (job && job.progress) {
          var bar = box.querySelector("progress");
          if (bar) { bar.max = job.progress.steps || 3; bar.value = job.progress.step || 0; }
          var stage = box.querySelector("[data-field=stage]");
          if (stage && job.state === "running") {
            stage.textContent = "正在生成：" + (job.progress.stage || "") + "（第 " + (job.progress.step || 1) +
              " / " + (job.progress.steps || 3) + " 步）";
          }
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
