// ILS live ops dashboard: REST for the first picture, the WebSocket (/ws) for every change after.
// No framework and no build step: the DOM is built with textContent (never HTML from data).

const $ = (id) => document.getElementById(id);
const STATIONS = ["order_entry", "picking", "surfacing", "hard_coat", "ar_coat", "tinting",
  "edging", "mounting", "final_inspection", "shipping"];
const OPEN = new Set(["draft", "submitted", "received", "in_production", "quality_check", "on_hold"]);
const MAX_ORDERS = 40;
const MAX_EVENTS = 60;

const state = {
  token: sessionStorage.getItem("ils.access"),
  refresh: sessionStorage.getItem("ils.refresh"),
  me: null,
  seq: null,
  ws: null,
  retry: 0,
  orders: new Map(),
  stations: new Map(),
  alerts: new Map(),
  eventTimes: [],
  eventCount: 0,
};

// ---------------------------------------------------------------- configuration and helpers

export function socketUrl(loc = window.location, body = document.body) {
  const fromQuery = new URLSearchParams(loc.search).get("ws");
  if (fromQuery) return fromQuery;
  if (body && body.dataset.wsUrl) return body.dataset.wsUrl;
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style") node.style.cssText = value; // CSSOM: allowed by the page's CSP
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

const label = (name) => String(name ?? "–").replaceAll("_", " ");
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "–");
const num = (v, digits = 0) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));

async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json", ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  let response = await fetch(path, { ...options, headers });
  if (response.status === 401 && state.refresh && !options.retried && (await refreshTokens())) {
    return api(path, { ...options, retried: true });
  }
  // Not there, not allowed, or not ready yet (a forecast without history): the panel stays hidden.
  if ([403, 404, 409].includes(response.status)) return null;
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.status === 204 ? {} : response.json();
}

function keepTokens(pair) {
  state.token = pair.access_token;
  state.refresh = pair.refresh_token;
  sessionStorage.setItem("ils.access", state.token);
  sessionStorage.setItem("ils.refresh", state.refresh);
}

async function refreshTokens() {
  const response = await fetch("/api/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: state.refresh }),
  });
  if (!response.ok) return false;
  keepTokens(await response.json());
  return true;
}

// ---------------------------------------------------------------- sign in and out

async function signIn(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const body = { email: $("email").value, password: $("password").value };
  if ($("totp").value) body.totp = $("totp").value;
  const response = await fetch("/api/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    $("login-error").textContent = problem.detail || problem.title || "Sign-in failed";
    return;
  }
  keepTokens(await response.json());
  await start();
}

function signOut() {
  if (state.token) fetch("/api/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${state.token}` } });
  sessionStorage.clear();
  location.reload();
}

async function start() {
  state.me = await api("/api/me").catch(() => null);
  if (!state.me) {
    state.token = null;
    $("login").hidden = false;
    return;
  }
  $("login").hidden = true;
  $("board").hidden = false;
  $("logout").hidden = false;
  $("who").hidden = false;
  $("who").textContent = `${state.me.email} · ${label(state.me.role)} · ${state.me.tenant_kind}`;
  await reload();
  connect();
  tick();
  setInterval(tick, 1000);
  setInterval(() => loadSlow().catch(console.warn), 60000);
}

// ---------------------------------------------------------------- REST: the first picture

async function reload() {
  await Promise.all([loadOrders(), loadStations(), loadSlow()].map((p) => p.catch(console.warn)));
}

async function loadSlow() {
  await Promise.all([loadKpis(), loadAlerts(), loadBottleneck(), loadForecast()].map((p) => p.catch(console.warn)));
}

async function loadOrders() {
  const page = await api(`/api/orders?limit=${MAX_ORDERS}`);
  state.orders.clear();
  for (const order of (page?.items || []).slice().reverse()) state.orders.set(order.id, order);
  renderOrders();
}

async function loadStations() {
  if (state.me.tenant_kind !== "lab") return;
  const body = await api("/api/lab/stations");
  if (!body) return;
  $("stations-panel").hidden = false;
  for (const s of body.items) state.stations.set(s.station, s);
  renderStations();
}

async function loadKpis() {
  const body = await api("/api/metrics/dashboard?range=last7days");
  const box = $("kpi-period");
  box.replaceChildren();
  if (!body?.figures) return;
  const f = body.figures;
  const cards = [
    ["Created · 7d", f.counts?.orders_created?.value, 0],
    ["Shipped · 7d", f.counts?.orders_shipped?.value, 0],
    ["Inspection pass", f.inspection_pass_rate?.value, "%"],
    ["Remakes / shipped", f.remakes_per_shipped_order?.value, "%"],
    ["Mean cycle (h)", f.mean_cycle_time_hours?.value, 1],
  ];
  for (const [name, value, digits] of cards) {
    const shown = digits === "%" ? (value == null ? "–" : `${(value * 100).toFixed(1)}%`) : num(value, digits);
    box.append(el("div", { class: "kpi" }, el("div", { class: "kpi-label", text: name }),
      el("div", { class: "kpi-value", text: shown })));
  }
}

async function loadAlerts() {
  const body = await api("/api/anomalies/alerts?status=open");
  if (!body) return;
  $("alerts-panel").hidden = false;
  state.alerts.clear();
  for (const alert of body.items || body.alerts || []) state.alerts.set(alert.id, alert);
  renderAlerts();
}

async function loadBottleneck() {
  const current = await api("/api/bottlenecks");
  if (!current) return;
  $("bottleneck-panel").hidden = false;
  const recs = await api("/api/bottlenecks/recommendations");
  const box = $("bottleneck");
  box.replaceChildren();
  const items = current.items || current.constraints || (current.station ? [current] : []);
  if (!items.length) box.append(el("p", { class: "muted", text: current.reason || "No constraint detected." }));
  for (const b of items) {
    box.append(el("p", { class: "constraint" }, el("strong", { text: label(b.station) }),
      ` since ${time(b.since)} · confidence ${num(b.confidence * 100)}%`));
  }
  const rec = $("recommendation");
  rec.replaceChildren();
  if (recs?.moves?.length) {
    const list = el("ul", { class: "moves" });
    for (const m of recs.moves) list.append(el("li", { text: `Move ${m.staff} from ${label(m.from_station)} to ${label(m.to_station)}` }));
    rec.append(el("h3", { text: "Recommendation" }), list,
      el("p", { class: "muted", text: `cycle time ${num(recs.expected_cycle_time_change_pct, 1)}% · ${recs.method || ""}` }));
  }
}

async function loadForecast() {
  if (state.me.tenant_kind !== "lab") return;
  const body = await api("/api/ai/demand-forecast?days=14");
  if (!body?.days?.length) return;
  $("forecast-panel").hidden = false;
  $("forecast-model").textContent = typeof body.model === "object" ? (body.model.name || body.model.kind || "") : String(body.model || "");
  $("forecast-chart").replaceChildren(forecastChart(body.days));
}

// ---------------------------------------------------------------- live: the WebSocket

function connect() {
  const ws = new WebSocket(socketUrl());
  state.ws = ws;
  setConn("connecting");
  ws.onopen = () => {
    const auth = { type: "auth", token: state.token };
    if (state.seq !== null) auth.since = state.seq;
    ws.send(JSON.stringify(auth));
  };
  ws.onmessage = (message) => onFrame(JSON.parse(message.data));
  ws.onclose = async (closed) => {
    if (state.ws !== ws) return;
    setConn("offline");
    if (closed.code === 4401 && !(state.refresh && (await refreshTokens()))) return signOut();
    if (closed.code === 4409) state.seq = null;
    const delay = Math.min(10000, 500 * 2 ** state.retry++) * (0.5 + Math.random());
    setTimeout(connect, delay);
  };
}

function onFrame(frame) {
  if (frame.type === "ready") {
    state.retry = 0;
    setConn("live");
    if (state.seq === null) state.seq = frame.seq;
    $("seq").textContent = state.seq;
  } else if (frame.type === "event") {
    state.seq = frame.seq;
    $("seq").textContent = frame.seq;
    apply(frame.seq, frame.event);
  } else if (frame.type === "ping") {
    state.ws.send(JSON.stringify({ type: "pong" }));
  } else if (frame.type === "reset") {
    reload();
  }
}

function apply(seq, event) {
  logEvent(seq, event);
  if (event.type.startsWith("order.") && event.order) {
    const known = state.orders.get(event.order.id) || {};
    state.orders.delete(event.order.id);
    state.orders.set(event.order.id, { ...known, ...event.order, _flash: Date.now() });
    renderOrders();
  } else if (event.type === "station.snapshot" && event.station) {
    state.stations.set(event.station.station, { ...event.station, _flash: Date.now() });
    $("stations-panel").hidden = state.me.tenant_kind !== "lab";
    renderStations();
  } else if (event.type === "alert.raised" && event.alert) {
    state.alerts.set(event.alert.id, event.alert);
    $("alerts-panel").hidden = false;
    renderAlerts();
  } else if (event.type.startsWith("alert.") && event.alert) {
    if (event.alert.status && event.alert.status !== "open") state.alerts.delete(event.alert.id);
    renderAlerts();
  }
}

// ---------------------------------------------------------------- rendering

function setConn(mode) {
  const pill = $("conn");
  pill.textContent = mode;
  pill.dataset.state = mode;
  pill.className = `pill ${mode === "live" ? "on" : mode === "connecting" ? "wait" : "off"}`;
}

function tick() {
  $("clock").textContent = new Date().toLocaleTimeString([], { hour12: false });
  const since = Date.now() - 5 * 60000;
  state.eventTimes = state.eventTimes.filter((t) => t > since);
  const minutes = Math.max(1, Math.min(5, (performance.now() / 60000)));
  $("kpi-rate").textContent = num(state.eventTimes.length / minutes, 1);
}

function logEvent(seq, event) {
  state.eventTimes.push(Date.now());
  state.eventCount += 1;
  $("events-count").textContent = `${state.eventCount} received`;
  const subject = event.order?.order_number || event.station?.station || event.alert?.subject || event.order_id || "";
  const detail = event.to ? `→ ${label(event.to)}` : event.to_station ? `→ ${label(event.to_station)}` : "";
  const item = el("li", { class: "event fresh", "data-seq": String(seq) },
    el("span", { class: "seq", text: `#${seq}` }),
    el("span", { class: `etype t-${event.type.split(".")[0]}`, text: event.type }),
    el("span", { class: "subject", text: `${label(subject)} ${detail}` }),
    el("time", { text: time(event.occurred_at) }));
  const list = $("events");
  list.prepend(item);
  while (list.children.length > MAX_EVENTS) list.lastChild.remove();
  setTimeout(() => item.classList.remove("fresh"), 1500);
}

function renderOrders() {
  const rows = [...state.orders.values()].reverse().slice(0, MAX_ORDERS);
  while (state.orders.size > MAX_ORDERS * 2) state.orders.delete(state.orders.keys().next().value);
  const body = $("orders");
  body.replaceChildren(...rows.map((o) => {
    const tr = el("tr", { "data-order": o.id },
      el("td", { class: "mono", text: o.order_number || o.id.slice(0, 8) }),
      el("td", {}, el("span", { class: `chip s-${o.status}`, text: label(o.status) })),
      el("td", { text: label(o.station) }),
      el("td", { class: o.priority === "rush" ? "rush" : "", text: label(o.priority) }),
      el("td", { text: o.due_date || "–" }),
      el("td", { class: "muted", text: time(o.updated_at) }));
    if (o._flash && Date.now() - o._flash < 1500) tr.classList.add("fresh");
    return tr;
  }));
  $("kpi-live").textContent = String([...state.orders.values()].filter((o) => OPEN.has(o.status)).length);
}

function renderStations() {
  const grid = $("stations");
  const known = STATIONS.filter((s) => state.stations.has(s));
  const peak = Math.max(5, ...known.map((s) => state.stations.get(s).queue + state.stations.get(s).in_process));
  let wip = 0;
  grid.replaceChildren(...known.map((name) => {
    const s = state.stations.get(name);
    wip += s.queue + s.in_process;
    const util = s.utilization == null ? null : Math.round(s.utilization * 100);
    const card = el("div", { class: `station eq-${s.equipment_status || "unknown"}`, "data-station": name },
      el("div", { class: "station-name", text: label(name) }),
      el("div", { class: "station-counts" },
        el("div", { class: "count" }, el("span", { class: "big", "data-field": "queue", text: String(s.queue) }), el("span", { class: "muted", text: "queued" })),
        el("div", { class: "count" }, el("span", { class: "big", "data-field": "in_process", text: String(s.in_process) }), el("span", { class: "muted", text: "in process" }))),
      el("div", { class: "bar" },
        el("span", { class: "bar-proc", style: `width:${(100 * s.in_process) / peak}%` }),
        el("span", { class: "bar-queue", style: `width:${(100 * s.queue) / peak}%` })),
      el("div", { class: "station-meta muted", text: `${s.staff} staff · ${s.machines} mach` }),
      el("div", { class: "station-meta muted", text: `${num(s.throughput_per_hour, 1)}/h · util ${util == null ? "–" : util + "%"}` }));
    if (util != null && util >= 90) card.classList.add("hot");
    if (s._flash && Date.now() - s._flash < 1500) card.classList.add("fresh");
    return card;
  }));
  $("kpi-wip").textContent = String(wip);
  const asOf = known.map((s) => state.stations.get(s).as_of).filter(Boolean).sort().pop();
  $("stations-asof").textContent = asOf ? `as of ${time(asOf)}` : "";
}

function renderAlerts() {
  const list = $("alerts");
  const open = [...state.alerts.values()].filter((a) => (a.status || "open") === "open");
  $("alerts-count").textContent = String(open.length);
  list.replaceChildren(...open.reverse().map((a) => el("li", { class: `alert sev-${a.severity}` },
    el("span", { class: "chip", text: a.severity }), el("span", { text: ` ${label(a.kind)} · ${a.subject}` }),
    el("time", { class: "muted", text: ` ${time(a.detected_at)}` }))));
  if (!open.length) list.append(el("li", { class: "muted", text: "No open alerts." }));
}

// An SVG chart by hand: a line and two bands; a charting library would need a build step or a CDN.
function forecastChart(days) {
  const W = 900, H = 240, L = 36, B = 22, T = 8;
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Demand forecast with 80% and 95% intervals");
  const top = Math.max(...days.map((d) => d.upper_95)) * 1.05 || 1;
  const x = (i) => L + (i * (W - L - 8)) / Math.max(1, days.length - 1);
  const y = (v) => T + (H - T - B) * (1 - Math.max(0, v) / top);
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
  };
  const band = (lo, hi) => days.map((d, i) => `${x(i)},${y(d[hi])}`).join(" ") + " " +
    days.map((d, i) => `${x(i)},${y(d[lo])}`).reverse().join(" ");
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    add("line", { x1: L, x2: W - 8, y1: y(v), y2: y(v), class: "grid" });
    add("text", { x: L - 4, y: y(v) + 3, class: "axis", "text-anchor": "end" }, num(v));
  }
  add("polygon", { points: band("lower_95", "upper_95"), class: "band95" });
  add("polygon", { points: band("lower_80", "upper_80"), class: "band80" });
  add("polyline", { points: days.map((d, i) => `${x(i)},${y(d.orders)}`).join(" "), class: "line" });
  days.forEach((d, i) => {
    add("circle", { cx: x(i), cy: y(d.orders), r: 2.5, class: "dot" });
    if (i % Math.ceil(days.length / 7) === 0) add("text", { x: x(i), y: H - 6, class: "axis", "text-anchor": "middle" }, d.date.slice(5));
  });
  return svg;
}

// ---------------------------------------------------------------- boot

$("login-form").addEventListener("submit", (e) => signIn(e).catch((err) => { $("login-error").textContent = String(err); }));
$("logout").addEventListener("click", signOut);
if (state.token) start();
