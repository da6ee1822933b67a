// The nfsync ops dashboard: polls the /ops JSON endpoints every 2 s. No external assets.
// Every table says so when it is empty; a figure it cannot show is a "-" whose tooltip says why.
"use strict";
const REFRESH_MS = 2000;
const OPERATORS_ONLY = "shown to operator tokens only, as broker figures are shared by every organization";
const ACTION_LABELS = { retry: "Retry", cancel: "Cancel" };
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

function known(value) { return value !== null && value !== undefined && !Number.isNaN(value); }

// A table cell; a value that is not known is a "-" with the reason as its tooltip.
function cell(value, why, cls) {
  if (known(value)) { return el("td", cls ? { class: cls } : {}, value); }
  return el("td", { class: cls ? `${cls} unknown` : "unknown", title: why || "no value" }, "-");
}

function field(td, name) { td.setAttribute("data-field", name); return td; }

// The body of a table: its rows, or one row saying there is nothing.
function fillTable(selector, rows, emptyText) {
  const body = document.querySelector(`${selector} tbody`);
  if (rows.length) { body.replaceChildren(...rows); return; }
  const columns = document.querySelectorAll(`${selector} thead th`).length;
  body.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: columns }, emptyText)));
}

function renderNotes(id, notes) {
  const items = [...new Set(notes)].map((note) => el("li", {}, `- in the broker columns: ${note}`));
  document.getElementById(id).replaceChildren(...items);
}

function queueRow(p) {
  const brokerWhy = p.broker ? p.broker.note : OPERATORS_ONLY;
  const broker = p.broker || {};
  const oldest = known(p.oldest_due_seconds) ? Math.round(p.oldest_due_seconds) : null;
  const throttlesWhy = p.broker ? "no throttle count" : "shown to operator tokens only, as throttles are fleet-wide";
  const fields = [["platform", p.platform], ["ready", broker.ready, brokerWhy],
    ["unacked", broker.unacked, brokerWhy], ["consumers", broker.consumers, brokerWhy], ["pending", p.pending],
    ["due", p.due], ["processing", p.processing], ["failed", p.failed], ["oldest_due_seconds", oldest],
    ["completed_5m", p.completed_5m], ["completed_60m", p.completed_60m], ["failed_60m", p.failed_60m],
    ["throttled_calls", p.throttled_calls, throttlesWhy]];
  const cells = fields.map(([name, value, why]) => field(cell(value, why), name));
  return el("tr", { "data-platform": p.platform }, ...cells);
}

function renderQueues(data) {
  fillTable("#queues", data.platforms.map(queueRow), "nothing here: no platform");
  const notes = data.platforms.map((p) => (p.broker ? p.broker.note : OPERATORS_ONLY)).filter(Boolean);
  renderNotes("queues-notes", notes);
}

function deadLetterRow(q) {
  return el("tr", { "data-queue": q.key }, field(cell(q.label, null, "text"), "label"),
    field(cell(q.queue, null, "text"), "queue"), field(cell(q.ready, q.note), "ready"),
    field(cell(q.unacked, q.note), "unacked"), field(cell(q.consumers, q.note), "consumers"));
}

function renderDeadLetters(data) {
  if (!Array.isArray(data.dead_letters)) { fillTable("#dead-letters", [], OPERATORS_ONLY); return; }
  fillTable("#dead-letters", data.dead_letters.map(deadLetterRow), "nothing here: no dead-letter queue");
}

function chart(platform, minutes, depth) {
  const width = 320, height = 90, now = Date.now();
  const x = (iso) => width - ((now - Date.parse(iso + (iso.endsWith("Z") || iso.includes("+") ? "" : "Z"))) / 3.6e6) * width;
  const maxBar = Math.max(1, ...minutes.map((m) => m.completed));
  const maxDepth = Math.max(0, ...depth.map((d) => d.pending));
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
    const scale = Math.max(1, maxDepth);
    const y = (pending) => height - (pending / scale) * (height - 4);
    line.setAttribute("points", depth.map((d) => `${x(d.minute)},${y(d.pending)}`).join(" "));
    line.setAttribute("class", "depth");
    svg.append(line);
  }
  const total = minutes.reduce((sum, m) => sum + m.completed, 0);
  const quiet = minutes.length || depth.length ? [] : [el("p", { class: "empty" }, "nothing here in the last hour")];
  return el("div", { class: "chart", "data-platform": platform },
    el("h3", {}, `${platform}: ${total} done, depth max ${maxDepth}`), svg, ...quiet);
}

function renderCharts(data, platforms) {
  const charts = platforms.map((p) => chart(p,
    data.minutes.filter((m) => m.platform === p), data.depth.filter((d) => d.platform === p)));
  document.getElementById("charts").replaceChildren(...(charts.length ? charts : ["nothing here: no platform"]));
}

function actionButton(action, task) {
  const button = el("button", { type: "button", "data-action": action, "data-task": task.id }, ACTION_LABELS[action]);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try { await api(`/v1/sync-tasks/${task.id}/${action}`, { method: "POST" }); await refresh(); }
    catch (error) { showError(error); button.disabled = false; }
  });
  return button;
}

// Only the actions /ops/tasks lists for the task: those the API accepts for its status and this token.
function actionsCell(task) {
  const actions = (task.actions || []).filter((action) => action in ACTION_LABELS);
  if (!actions.length) {
    return field(cell(null, `no action: a ${task.status} task cannot be retried or cancelled, or this token `
      + "lacks tasks:write"), "actions");
  }
  const buttons = actions.flatMap((action, i) => [...(i ? [" "] : []), actionButton(action, task)]);
  return field(el("td", {}, ...buttons), "actions");
}

function renderFailing(page) {
  fillTable("#failing", page.items.map((task) => el("tr", { "data-task": task.id, "data-status": task.status },
    cell(task.id.slice(0, 8), null, "text"), cell(task.platform, "no platform"), cell(task.task_type),
    cell(task.retry_count), cell(task.error_message, "no error message was recorded", "error"), actionsCell(task))),
  "nothing here: no failed task");
}

function renderWorkers(data) {
  document.getElementById("workers").replaceChildren(...data.workers.map((w) => el("div", { class: "worker" },
    el("strong", {}, w.id), ` - ${w.platforms.join(", ")}, ${w.running} running${w.stopping ? ", stopping" : ""}`,
    ...w.tasks.map((t) => el("div", { class: "task" }, `${t.platform} ${t.task_type} ${String(t.id).slice(0, 8)}`,
      el("progress", { max: 100, value: t.progress ?? 0 }), `${t.processed_items ?? 0}/${t.total_items ?? 0}`)))));
  if (!data.workers.length) { document.getElementById("workers").replaceChildren("nothing here: no live worker"); }
}

function renderWebhooks(data) {
  document.getElementById("webhook-results").replaceChildren(
    data.last_hour.length ? data.last_hour.map((r) => `${r.platform} ${r.status}: ${r.n}`).join(" · ")
      : "nothing here: no webhook in the last hour");
  fillTable("#webhooks", data.recent.slice(0, 15).map((w) => {
    const result = cell(w.status, "no result recorded");
    if (w.error_message) { result.setAttribute("title", w.error_message); }
    return el("tr", {}, cell(w.received_at, null, "text"), cell(w.platform),
      cell(w.event_type, "the push names no event"), cell(w.entity_id, "the push names no entity"), result);
  }), "nothing here: no webhook received");
}

function renderEvents(data) {
  document.getElementById("shop-states").replaceChildren(
    Object.entries(data.shop_states).map(([state, n]) => `${state}: ${n}`).join(" · "));
  fillTable("#shops-attention", data.shops_needing_attention.map((s) => el("tr", { "data-state": s.state },
    cell(s.shop_name, null, "text"), cell(s.platform), cell(s.state), cell(s.reasons.join("; "), null, "text"))),
  "nothing here: every shop is healthy");
  const backlog = data.event_backlog;
  document.getElementById("event-backlog").replaceChildren(backlog.events
    ? `events waiting for RabbitMQ: ${backlog.events}, oldest ${Math.round(backlog.oldest_seconds)} s`
    : "events waiting for RabbitMQ: none");
  fillTable("#subscribers", data.subscribers.map((s) => {
    const status = cell(s.status);
    if (s.disabled_reason) { status.setAttribute("title", s.disabled_reason); }
    return el("tr", { "data-status": s.status }, cell(s.url, null, "text"), status, cell(s.pending),
      cell(s.failed_24h), cell(s.delivered_1h), cell(s.last_failure_at, "no failure", "text"));
  }), "nothing here: no HTTP subscriber");
}

function showError(error) { document.getElementById("error").textContent = error.message; }

async function refresh() {
  try {
    const [queues, throughput, failing, workers, webhooks, events] = await Promise.all([api("/ops/queues"),
      api("/ops/throughput"), api("/ops/tasks?status=failed&limit=20"), api("/ops/workers"), api("/ops/webhooks"),
      api("/ops/events")]);
    renderQueues(queues);
    renderDeadLetters(queues);
    renderCharts(throughput, queues.platforms.map((p) => p.platform));
    renderFailing(failing);
    renderWorkers(workers);
    renderWebhooks(webhooks);
    renderEvents(events);
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
