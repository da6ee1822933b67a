// The nfsync ops dashboard: polls the /ops JSON endpoints every 2 s. No external assets.
"use strict";
const REFRESH_MS = 2000;
const params = new URLSearchParams(location.search);
if (params.get("token")) { localStorage.setItem("nfsync-token", params.get("token")); }
let token = localStorage.getItem("nfsync-token") || "";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) { node.setAttribute(key, value); }
  for (const child of children) { node.append(child instanceof Node ? child : String(child ?? "-")); }
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 401) { askToken(); throw new Error("a valid token is needed"); }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error ? body.error.message : `HTTP ${response.status}`);
  }
  return response.json();
}

function askToken() { document.getElementById("token-form").hidden = false; }

function cell(value, cls) { return el("td", cls ? { class: cls } : {}, value === null || value === undefined ? "-" : value); }

function renderQueues(data) {
  const body = document.querySelector("#queues tbody");
  body.replaceChildren(...data.platforms.map((p) => {
    const broker = p.broker || {};
    const row = el("tr", { "data-platform": p.platform });
    const fields = [["platform", p.platform], ["ready", broker.ready], ["unacked", broker.unacked],
      ["consumers", broker.consumers], ["pending", p.pending], ["due", p.due], ["processing", p.processing],
      ["failed", p.failed], ["oldest_due_seconds", Math.round(p.oldest_due_seconds)],
      ["completed_5m", p.completed_5m], ["completed_60m", p.completed_60m], ["failed_60m", p.failed_60m],
      ["throttled_calls", p.throttled_calls]];
    for (const [name, value] of fields) {
      const td = cell(value); td.setAttribute("data-field", name); row.append(td);
    }
    return row;
  }));
}

function chart(platform, minutes, depth) {
  const width = 320, height = 90, now = Date.now();
  const x = (iso) => width - ((now - Date.parse(iso + (iso.endsWith("Z") || iso.includes("+") ? "" : "Z"))) / 3.6e6) * width;
  const maxBar = Math.max(1, ...minutes.map((m) => m.completed));
  const maxDepth = Math.max(1, ...depth.map((d) => d.pending));
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  for (const m of minutes) {
    const bar = document.createElementNS(ns, "rect");
    const h = (m.completed / maxBar) * (height - 4);
    bar.setAttribute("x", x(m.minute) - 4); bar.setAttribute("width", 4);
    bar.setAttribute("y", height - h); bar.setAttribute("height", h); bar.setAttribute("class", "bar");
    svg.append(bar);
  }
  if (depth.length) {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", depth.map((d) => `${x(d.minute)},${height - (d.pending / maxDepth) * (height - 4)}`).join(" "));
    line.setAttribute("class", "depth");
    svg.append(line);
  }
  const total = minutes.reduce((sum, m) => sum + m.completed, 0);
  return el("div", { class: "chart", "data-platform": platform },
    el("h3", {}, `${platform}: ${total} done, depth max ${maxDepth}`), svg);
}

function renderCharts(data, platforms) {
  document.getElementById("charts").replaceChildren(...platforms.map((p) => chart(p,
    data.minutes.filter((m) => m.platform === p), data.depth.filter((d) => d.platform === p))));
}

function actionButton(label, task, action) {
  const button = el("button", { type: "button", "data-action": action, "data-task": task.id }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try { await api(`/v1/sync-tasks/${task.id}/${action}`, { method: "POST" }); await refresh(); }
    catch (error) { showError(error); button.disabled = false; }
  });
  return button;
}

function renderFailing(page) {
  document.querySelector("#failing tbody").replaceChildren(...page.items.map((task) => el("tr", { "data-task": task.id },
    cell(task.id.slice(0, 8), "text"), cell(task.platform), cell(task.task_type), cell(task.retry_count),
    cell(task.error_message, "error"),
    el("td", {}, actionButton("Retry", task, "retry"), " ", actionButton("Cancel", task, "cancel")))));
}

function renderWorkers(data) {
  document.getElementById("workers").replaceChildren(...data.workers.map((w) => el("div", { class: "worker" },
    el("strong", {}, w.id), ` - ${w.platforms.join(", ")}, ${w.running} running${w.stopping ? ", stopping" : ""}`,
    ...w.tasks.map((t) => el("div", { class: "task" }, `${t.platform} ${t.task_type} ${String(t.id).slice(0, 8)}`,
      el("progress", { max: 100, value: t.progress }), `${t.processed_items}/${t.total_items}`)))));
  if (!data.workers.length) { document.getElementById("workers").replaceChildren("no live worker"); }
}

function renderWebhooks(data) {
  document.getElementById("webhook-results").replaceChildren(
    data.last_hour.length ? data.last_hour.map((r) => `${r.platform} ${r.status}: ${r.n}`).join(" · ") : "none in the last hour");
  document.querySelector("#webhooks tbody").replaceChildren(...data.recent.slice(0, 15).map((w) => el("tr", {},
    cell(w.received_at, "text"), cell(w.platform), cell(w.event_type), cell(w.entity_id), cell(w.status))));
}

function showError(error) { document.getElementById("error").textContent = error.message; }

async function refresh() {
  try {
    const [queues, throughput, failing, workers, webhooks] = await Promise.all([api("/ops/queues"),
      api("/ops/throughput"), api("/ops/tasks?status=failed&limit=20"), api("/ops/workers"), api("/ops/webhooks")]);
    renderQueues(queues);
    renderCharts(throughput, queues.platforms.map((p) => p.platform));
    renderFailing(failing);
    renderWorkers(workers);
    renderWebhooks(webhooks);
    document.getElementById("error").textContent = "";
    document.getElementById("refreshed").textContent = `refreshed ${new Date().toLocaleTimeString()}`;
  } catch (error) { showError(error); }
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = document.getElementById("token-input").value.trim();
  localStorage.setItem("nfsync-token", token);
  document.getElementById("token-form").hidden = true;
  refresh();
});
if (!token) { askToken(); }
refresh();
setInterval(refresh, REFRESH_MS);
