// Ferry UI: polls the current job and writes its progress into the page (text only, no HTML).
(function () {
  "use strict";
  var panel = document.getElementById("job");
  if (!panel) { return; }
  function set(id, text) { var el = document.getElementById(id); if (el) { el.textContent = text; } }
  function reportLink(path) {
    var a = document.createElement("a");
    a.href = path.slice(-5) === ".html" ? "/files/" + path : "/reports/view?path=" + encodeURIComponent(path);
    a.textContent = path;
    return a;
  }
  function render(job) {
    if (!job) { return; }
    panel.dataset.job = job.id;
    panel.className = "job " + job.status;
    set("job-verb", job.verb); set("job-status", job.status); set("job-elapsed", job.elapsed_s);
    set("job-message", job.message); set("job-error", job.error);
    var b = job.budget;
    set("job-budget", b && b.remaining !== null && b.remaining !== undefined ?
        b.remaining + (b.limit ? " of " + b.limit : "") : "n/a");
    var body = document.querySelector("#job-progress tbody");
    if (body) {
      body.textContent = "";
      job.progress.forEach(function (p) {
        var tr = document.createElement("tr");
        [p.name, p.done, p.total === null ? "?" : p.total, p.rate, p.eta_s === null ? "?" : p.eta_s]
          .forEach(function (v) { var td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
        body.appendChild(tr);
      });
    }
    var row = document.getElementById("job-row-" + job.id);
    if (row) {
      row.querySelector(".st").textContent = job.status;
      row.querySelector(".sum").textContent = job.message || job.error;
    }
    var links = document.getElementById("job-reports");
    if (links) {
      links.textContent = "";
      job.reports.forEach(function (r) { links.appendChild(reportLink(r)); links.appendChild(document.createTextNode(" ")); });
    }
  }
  var wasRunning = panel.classList.contains("running");
  function poll() {
    fetch("/api/job", {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        render(job);
        var running = job && job.status === "running";
        if (running) { wasRunning = true; setTimeout(poll, 500); }
        else if (wasRunning) { wasRunning = false; panel.dataset.finished = "1"; }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
