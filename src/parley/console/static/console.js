// The Console's shared behaviour: copy buttons, confirmations, auto-submitting
// pickers, colour dots, charts (Chart.js, served by Parley from the npm registry's
// package) and the file upload with a progress bar. No inline scripts: the pages'
// Content-Security-Policy allows only files like this one.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

function copyText(text, button) {
  navigator.clipboard.writeText(text).then(
    () => { const was = button.textContent; button.textContent = "Copied"; setTimeout(() => { button.textContent = was; }, 1500); },
    () => { button.textContent = "Select and copy"; },
  );
}

function wireCopyButtons() {
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", () => {
      const field = document.querySelector(button.dataset.copy);
      field.select();
      copyText(field.value, button);
    });
  });
  document.querySelectorAll("[data-copy-visible]").forEach((button) => {
    button.addEventListener("click", () => {
      const shown = [...document.querySelectorAll(button.dataset.copyVisible)].find((el) => !el.hidden);
      if (shown) copyText(shown.textContent, button);
    });
  });
}

function wireForms() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  document.querySelectorAll(".dot[data-color]").forEach((dot) => {
    dot.style.backgroundColor = dot.dataset.color;
  });
}

const PALETTE = ["#c8693f", "#5b7bb9", "#6a9f5b", "#b9935b", "#8a6bb9", "#3f9fa3", "#b95b7a", "#7a7a7a"];

function formatValue(value, unit) {
  if (unit !== "usd") return value.toLocaleString();
  // Sub-cent amounts (small models are cheap) keep two significant digits.
  if (value !== 0 && Math.abs(value) < 0.01) return "$" + value.toPrecision(2);
  return "$" + value.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

function drawChart(canvas, spec) {
  const datasets = spec.datasets.map((d, i) => ({
    label: d.label,
    data: d.data,
    backgroundColor: spec.stacked ? PALETTE[i % PALETTE.length] : spec.labels.map((_, j) => PALETTE[j % PALETTE.length]),
    borderRadius: 3,
    maxBarThickness: 48,
  }));
  return new window.Chart(canvas, {
    type: "bar",
    data: { labels: spec.labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: spec.stacked && datasets.length > 0, position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${formatValue(ctx.parsed.y, spec.unit)}` } },
      },
      scales: {
        x: { stacked: spec.stacked, grid: { display: false } },
        y: { stacked: spec.stacked, beginAtZero: true, ticks: { callback: (v) => formatValue(v, spec.unit) } },
      },
    },
  });
}

function drawCharts() {
  document.querySelectorAll("script[data-chart-for]").forEach((block) => {
    const canvas = document.getElementById(block.dataset.chartFor);
    const spec = JSON.parse(block.textContent);
    const figure = canvas.parentElement;
    const empty = spec.datasets.every((d) => d.data.every((v) => !v));
    if (empty) figure.classList.add("empty-chart");
    if (typeof window.Chart === "undefined") {
      figure.classList.add("no-charts");
      figure.dataset.message = "Charts need the front-end libraries: run `make serve` (npm) once.";
      return;
    }
    figure.dataset.ready = "1";
    drawChart(canvas, spec);
  });
}

function wireUpload() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = document.getElementById("upload-input").files[0];
    if (!file) return;
    const bar = document.getElementById("upload-bar");
    const status = document.getElementById("upload-status");
    document.getElementById("upload-progress").hidden = false;
    const body = new FormData();
    body.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/files");
    xhr.setRequestHeader("anthropic-version", "2023-06-01");
    xhr.setRequestHeader("x-csrf-token", csrfToken());
    xhr.setRequestHeader("anthropic-workspace-id", form.dataset.workspace);
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      bar.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = `${bar.value}% of ${file.size.toLocaleString()} bytes`;
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 200) {
        bar.value = 100;
        status.textContent = "Uploaded " + JSON.parse(xhr.responseText).id;
        window.location.reload();
      } else {
        let message = `HTTP ${xhr.status}`;
        try { message = JSON.parse(xhr.responseText).error.message; } catch (_) { /* not JSON */ }
        status.textContent = "Upload failed: " + message;
        status.classList.add("error-text");
      }
    });
    xhr.addEventListener("error", () => { status.textContent = "Upload failed: the connection broke."; });
    xhr.send(body);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  wireCopyButtons();
  wireForms();
  wireUpload();
});
// Chart.js loads with `defer` after this file; draw once everything has run.
window.addEventListener("load", drawCharts);
