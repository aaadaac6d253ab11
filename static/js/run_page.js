/* Run page: poll the run API until it finishes, then draw the time-series charts.
 *
 * Progressive enhancement: without JavaScript the page still shows the status, score,
 * post-mortem and a table of the series; this script only adds live updates and charts. */
(function () {
  "use strict";
  var root = document.getElementById("run-page");
  if (!root) return;
  var FINISHED = ["succeeded", "failed"];
  var STATUS_TEXT = {
    queued: "Waiting for a worker to pick up this run…",
    running: "A worker is simulating your design and its counterfactuals…",
    succeeded: "Finished. Loading the results…",
    failed: "The run failed. Loading the reason…"
  };

  function poll(delayMs) {
    window.setTimeout(function () {
      fetch(root.dataset.apiUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (run) {
          var text = document.getElementById("run-status-text");
          if (text) text.textContent = STATUS_TEXT[run.status] || run.status;
          var badge = root.querySelector("[data-run-status]");
          if (badge) badge.textContent = run.status.charAt(0).toUpperCase() + run.status.slice(1);
          if (FINISHED.indexOf(run.status) >= 0) {
            window.location.reload(); // the server renders the score, post-mortem and charts
          } else {
            poll(Math.min(delayMs * 1.5, 10000));
          }
        })
        .catch(function () { poll(Math.min(delayMs * 2, 15000)); });
    }, delayMs);
  }

  if (FINISHED.indexOf(root.dataset.status) < 0) {
    poll(1000);
    return;
  }
  if (root.dataset.status !== "succeeded" || !root.dataset.seriesUrl) return;

  var COLORS = ["#2454c5", "#1f7a3a", "#b42318", "#a15c00", "#6b3fa0", "#0e7490", "#9d174d", "#4b5563"];
  var statusLine = document.getElementById("charts-status");

  /* Shades each scheduled incident's window (a thin line for instantaneous ones). */
  function incidentPlugin(incidents) {
    return {
      id: "incidents",
      beforeDatasetsDraw: function (chart) {
        var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
        ctx.save();
        incidents.forEach(function (incident) {
          var start = x.getPixelForValue(incident.start_s / 60);
          var end = x.getPixelForValue(incident.end_s / 60);
          ctx.fillStyle = "rgba(180, 35, 24, 0.10)";
          ctx.fillRect(start, area.top, Math.max(end - start, 2), area.bottom - area.top);
          ctx.fillStyle = "#b42318";
          ctx.font = "11px system-ui, sans-serif";
          ctx.fillText(incident.label, start + 3, area.top + 11);
        });
        ctx.restore();
      }
    };
  }

  function points(times, values, scale) {
    return values.map(function (v, i) { return { x: times[i] / 60, y: v === null ? null : v * (scale || 1) }; });
  }

  function line(label, data, index, extra) {
    var color = COLORS[index % COLORS.length];
    return Object.assign({ label: label, data: data, borderColor: color, backgroundColor: color,
      borderWidth: 1.5, pointRadius: 0, tension: 0 }, extra || {});
  }

  function draw(id, datasets, doc, yTitle, yOptions) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    new window.Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      plugins: [incidentPlugin(doc.incidents)],
      options: {
        animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: { type: "linear", title: { display: true, text: "minutes into the run" } },
          y: Object.assign({ beginAtZero: true, title: { display: true, text: yTitle } }, yOptions || {})
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12,
          // the band's upper edge shares the band's legend entry
          filter: function (item) { return !/ 95 %$/.test(item.text); } } } }
      }
    });
  }

  function mean(doc, name) {
    var band = doc.series[name];
    return band ? band.mean : null;
  }

  function render(doc) {
    var t = doc.times_s;
    var traffic = [["offered_rps", "offered"], ["success_rps", "succeeded"], ["error_rps", "failed"]];
    draw("chart-traffic", traffic.filter(function (s) { return mean(doc, s[0]); }).map(function (s, i) {
      return line(s[1], points(t, mean(doc, s[0])), i);
    }), doc, "requests/s");

    var latency = ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"].filter(function (n) { return mean(doc, n); });
    var latencySets = latency.map(function (name, i) {
      return line(name.replace("latency_", "").replace("_ms", ""), points(t, mean(doc, name)), i);
    });
    // The 5–95 % band over replications of the percentile the SLA is written on.
    var slaBand = doc.series["latency_p" + doc.sla.latency_percentile + "_ms"];
    if (slaBand && slaBand.p05 && slaBand.p95) {
      var shade = "rgba(36, 84, 197, 0.15)";
      latencySets.push(line("p" + doc.sla.latency_percentile + " 5–95 % band", points(t, slaBand.p05), 0,
        { borderWidth: 0, backgroundColor: shade, borderColor: shade }));
      latencySets.push(line("p" + doc.sla.latency_percentile + " 95 %", points(t, slaBand.p95), 0,
        { borderWidth: 0, backgroundColor: shade, borderColor: shade, fill: "-1" }));
    }
    var target = t.map(function (time) { return { x: time / 60, y: doc.sla.latency_ms }; });
    latencySets.push(line("SLA target (p" + doc.sla.latency_percentile + ")", target, 2,
      { borderDash: [6, 4], borderColor: "#b42318" }));
    draw("chart-latency", latencySets, doc, "ms");

    var causes = Object.keys(doc.series).filter(function (n) { return /^errors_.+_rps$/.test(n); }).sort();
    draw("chart-errors", causes.map(function (name, i) {
      return line(name.replace("errors_", "").replace("_rps", ""), points(t, mean(doc, name)), i + 2,
        { fill: true, backgroundColor: COLORS[(i + 2) % COLORS.length] + "55" });
    }), doc, "errors/s", { stacked: true });

    var utilization = Object.keys(doc.series).filter(function (n) { return n.indexOf("utilization:") === 0; }).sort();
    draw("chart-utilization", utilization.map(function (name, i) {
      return line(name.slice("utilization:".length), points(t, mean(doc, name), 100), i);
    }), doc, "% busy", { max: 100 });
    if (statusLine) statusLine.textContent = "";
  }

  if (statusLine) statusLine.textContent = "Loading charts…";
  fetch(root.dataset.seriesUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(function (doc) {
      if (!window.Chart) throw new Error("Chart.js did not load");
      render(doc);
    })
    .catch(function (error) {
      if (statusLine) statusLine.textContent = "The charts could not be drawn (" + error.message + "); the table below has the same facts.";
    });
})();
