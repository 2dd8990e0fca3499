// Live progress bars: poll the job status endpoint for every active job row until it finishes.
(function () {
  "use strict";
  const script = document.getElementById("jobs-js");
  const url = script.dataset.statusUrl;
  const reloadOnFinish = script.dataset.reloadOnFinish === "1";
  const ACTIVE = new Set(["queued", "running"]);

  function activeIds() {
    return [...document.querySelectorAll("tr[data-job]")]
      .filter((row) => ACTIVE.has(row.dataset.status))
      .map((row) => row.dataset.job);
  }

  function render(job) {
    document.querySelectorAll(`tr[data-job="${job.id}"]`).forEach((row) => {
      const wasActive = ACTIVE.has(row.dataset.status);
      row.dataset.status = job.status;
      const badge = row.querySelector('[data-field="status"]');
      badge.textContent = job.status;
      badge.className = `badge status-${job.status}`;
      row.querySelector('[data-field="bar"]').style.width = `${job.percent}%`;
      row.querySelector(".progress").setAttribute("aria-valuenow", job.percent);
      // A queued job says why it waits (the page's own wording first: "after seed 1 · train"), not "0/0".
      const waiting = job.status === "queued" ? row.dataset.waiting || job.waiting : "";
      const detail = job.error || job.enqueue_error || job.message || waiting;
      const counts = job.total ? `${job.done}/${job.total} ` : "";
      row.querySelector('[data-field="message"]').textContent = counts + detail;
      // Where it stands: position in its queue, "no worker listening", the broker, or an ETA.
      const where = row.querySelector('[data-field="where"]');
      if (where) where.textContent = job.where || "";
      if (wasActive && !ACTIVE.has(job.status) && reloadOnFinish) window.location.reload();
    });
  }

  async function poll() {
    const ids = activeIds();
    if (ids.length === 0) return;
    try {
      const response = await fetch(`${url}?ids=${ids.join(",")}`, { headers: { Accept: "application/json" } });
      if (response.ok) (await response.json()).jobs.forEach(render);
    } catch (err) {
      console.warn("job status poll failed", err);
    }
    setTimeout(poll, 1000);
  }
  poll();

  // Learning curves of a seed in training: redraw every few seconds until the page reloads at its end.
  const curves = document.querySelectorAll("img[data-live-curves]");
  if (curves.length) {
    setInterval(() => {
      curves.forEach((img) => { img.src = `${img.src.split("?")[0]}?t=${Date.now()}`; });
    }, 4000);
  }
})();
