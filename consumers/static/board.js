// The live board page: a snapshot, then updates merged by key, resumed with `since` after any
// drop; the view is drawn by view.js from what the WebSocket sent this role, and actions go
// through the HTTP API (actions.js). The token lives in the URL fragment or sessionStorage only.
import { clear, h, mount } from "./dom.js";
import { modeOf, roomView, shown, view } from "./view.js";
import { outcome, post, uuid } from "./actions.js";
import { KINDS, said } from "./status.js";

const $ = (id) => document.getElementById(id);
const site = decodeURIComponent(location.pathname.split("/").pop());
const params = new URLSearchParams(location.hash.slice(1));
const S = {
  token: params.get("token") || sessionStorage.getItem("muster-token") || "",
  board: null, role: null, name: null, skew: 0, selected: null,
  ws: null, retry: 500, timer: null, ended: false, live: false, lastMessage: 0, hiddenAt: 0,
  paused: false, buffer: [], playing: null, roomOpen: null, roomIncident: null, history: null,
  pendingHistory: [], ackKeys: {}, acking: false,
  pressed: JSON.parse(sessionStorage.getItem("muster-pressed") || "null"),
};
const hook = { board: null, role: null, renders: [] };
window.muster = hook;  // for the browser tests: what was drawn, and when

function ctx() {
  return { role: S.role, name: S.name, now: Date.now(), skew: S.skew, selected: S.selected };
}

// --- drawing -----------------------------------------------------------------------------------

// Updates that arrive together are drawn together, once, in the next frame: a press brings
// three events at once, and drawing each on its own only delays the last.
let frame = 0;
const arrived = [];

function render(received) {
  if (received != null && S.board) arrived.push({ seq: S.board.seq, received });
  if (!frame) frame = requestAnimationFrame(draw);
}

function draw() {
  frame = 0;
  if (!S.board) return;
  if (S.selected && !(S.board.other_cases || []).some((c) => c.incident.id === S.selected)) S.selected = null;
  mount($("board"), view(S.board, ctx()));
  document.body.dataset.mode = modeOf(shown(S.board, S.selected));
  renderActions();
  if (S.roomOpen) drawRoom();
  hook.board = S.board;
  const drawn = performance.now(), batch = arrived.splice(0);
  if (!batch.length) return;
  // A task queued from inside the frame runs once that frame has been painted.
  setTimeout(() => {
    const painted = performance.now();
    for (const a of batch) hook.renders.push({ ...a, drawn, painted });
    hook.renders.splice(0, Math.max(0, hook.renders.length - 50));
  }, 0);
}

function toast(text, bad = false) {
  const t = $("toast");
  t.textContent = text; t.className = `toast show${bad ? " bad" : ""}`;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = "toast"; }, 6000);
}

function freshness() {
  const conn = $("conn");
  if (S.ended) return;
  if (S.live) { conn.textContent = "live"; conn.className = "conn live"; return; }
  conn.className = "conn down";
  conn.textContent = S.lastMessage
    ? `reconnecting — last update ${Math.round((Date.now() - S.lastMessage) / 1000)} s ago` : "connecting…";
}

// --- the WebSocket -----------------------------------------------------------------------------

function merge(changes) {
  for (const [key, value] of Object.entries(changes)) {
    if (key !== "rooms") { S.board[key] = value; continue; }
    const byId = new Map(S.board.rooms.map((r) => [r.id, r]));
    for (const room of value) byId.set(room.id, room);
    S.board.rooms = [...byId.values()];
  }
}

function apply(data, received) {
  if (data.type === "snapshot") S.board = data.board;
  else if (S.board && data.seq > S.board.seq) {
    merge(data.board); S.board.seq = data.seq;
    const ev = data.event;
    if (S.roomOpen && ev && ev.data && ev.data.room === S.roomOpen && ev.incident_id === S.roomIncident) {
      addHistory([{ ...ev, seq: data.seq }]);
    }
  }
  render(received);
}

async function refused() {
  // A refused upgrade reaches a script as a bare close (1006): ask over HTTP why.
  try {
    const resp = await fetch(`/v1/sites/${encodeURIComponent(site)}/board`,
      { headers: { Authorization: `Bearer ${S.token}` }, cache: "no-store" });
    return resp.status === 401 || resp.status === 403;
  } catch {
    return false;
  }
}

function connect() {
  clearTimeout(S.timer);
  // What is held for a paused replay counts as had: asking again would queue it twice.
  const held = S.buffer.length ? S.buffer[S.buffer.length - 1].seq : 0;
  const since = S.board ? `&since=${Math.max(S.board.seq, held)}` : "";
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/v1/sites/${encodeURIComponent(site)}/board/ws`
    + `?token=${encodeURIComponent(S.token)}${since}`);
  S.ws = ws;
  let opened = false;
  ws.onopen = () => {
    opened = true; S.live = true; S.retry = 500; S.lastMessage = Date.now(); freshness();
    if (!S.role) whoami();  // the page opened offline: learn the role now, for its actions
  };
  ws.onmessage = (msg) => {
    if (S.ws !== ws) return;  // a socket this page has already replaced
    const received = performance.now();
    S.lastMessage = Date.now();
    const data = JSON.parse(msg.data);
    // Paused, or still playing what was held: later updates queue behind, never jump ahead.
    if ((S.paused || S.buffer.length) && data.type === "update") { S.buffer.push(data); replayState(); return; }
    apply(data, received);
  };
  ws.onclose = async (ev) => {
    if (S.ws !== ws) return;  // replaced on purpose (the phone woke up): the new one carries on
    S.live = false; freshness();
    if (S.ended) return;
    if (ev.code === 1008 || (!opened && await refused())) { endAccess(); return; }
    if (S.ws !== ws) return;  // replaced while we asked why: the new socket carries on
    S.timer = setTimeout(connect, S.retry);
    S.retry = Math.min(S.retry * 2, 10000);
  };
}

function reconnectNow() {
  if (S.ended || !S.token) return;
  const old = S.ws;
  S.ws = null;
  if (old) { old.onclose = null; old.close(); }
  S.live = false; freshness();
  connect();
}

function endAccess() {
  S.ended = true; S.live = false;
  clearTimeout(S.timer);
  S.token = "";
  sessionStorage.removeItem("muster-token");
  const conn = $("conn");
  conn.textContent = "access ended"; conn.className = "conn down";
  $("ended").hidden = false;
  document.body.classList.add("access-ended");
  for (const d of document.querySelectorAll("dialog[open]")) d.close();
  // What it may no longer see leaves the page, not only the screen.
  S.board = null; S.buffer = []; S.ackKeys = {}; hook.board = null;
  clear($("board")); clear($("actions")); clear($("room-body")); clear($("report-people"));
  askToken();
}

function askToken() {
  const form = $("login");
  $("token").value = "";
  form.hidden = false;
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const token = $("token").value.trim();
    if (!token) return;
    S.token = token;
    sessionStorage.setItem("muster-token", token);
    form.hidden = true;
    $("ended").hidden = true;
    document.body.classList.remove("access-ended");
    S.ended = false; S.retry = 500;
    S.board = null;  // a new token may be another role's: start from its own snapshot
    await whoami();
    if (!S.ended) connect();
  };
}

async function whoami() {
  try {
    const resp = await fetch("/v1/me", { headers: { Authorization: `Bearer ${S.token}` }, cache: "no-store" });
    const date = Date.parse(resp.headers.get("Date") || "");
    if (!Number.isNaN(date)) S.skew = date - Date.now();  // the server's clock, for "3 min ago"
    if (resp.status === 401) { endAccess(); return; }
    if (resp.ok) { const me = await resp.json(); S.role = me.role; S.name = me.name; }
  } catch {
    // offline: the board still opens; actions wait for a role
  }
  hook.role = S.role;
  $("role").textContent = S.role ? `${S.role}${S.name ? ` · ${S.name}` : ""}` : "";
}

// --- acting ------------------------------------------------------------------------------------

function incidentPath(suffix) {
  const inc = shown(S.board, S.selected).incident;
  return `/v1/incidents/${encodeURIComponent(inc.id)}/${suffix}`;
}

async function send(path, body, key) {
  const result = await post(path, { ...body, client_event_id: key }, S.token);
  toast(outcome(result), !result.ok);
  if (result.status === 401) endAccess();
  return result;
}

/** A form in a dialog: one client_event_id per opening, the button held while it is sent. */
function form(dialogId, prepare, submit) {
  const dialog = $(dialogId);
  const f = dialog.querySelector("form");
  let key = null;
  f.querySelector(".cancel")?.addEventListener("click", () => dialog.close());
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = f.querySelector("button[type=submit]");
    if (button.disabled) return;
    button.disabled = true;
    try {
      const result = await submit(key);
      if (result && result.ok) dialog.close();
    } finally {
      button.disabled = false;
    }
  });
  return () => { key = uuid(); prepare(); dialog.showModal(); };
}

function confirmThen(title, text, yes, act) {
  const dialog = $("confirm-dialog");
  const key = uuid();
  $("confirm-h").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = yes;
  $("confirm-yes").onclick = async () => {
    $("confirm-yes").disabled = true;
    try { if ((await act(key)).ok) dialog.close(); } finally { $("confirm-yes").disabled = false; }
  };
  $("confirm-no").onclick = () => dialog.close();
  dialog.showModal();
  $("confirm-no").focus();
}

function options(select, items, chosen) {
  select.replaceChildren(...items.map(([value, label]) => {
    const o = document.createElement("option");
    o.value = value; o.textContent = label; o.selected = value === chosen;
    return o;
  }));
}

const roomOptions = () => (S.board.rooms || []).map((r) => [r.id, `${r.id} ${r.name}`]);

function peopleChecks() {
  const room = $("report-room").value;
  const roster = (S.board.roster || {})[room] || [];
  const box = $("report-people");
  clear(box);  // built afresh: a tick must never carry over to another room's child
  if (!S.board.roster) return;
  mount(box, h("fieldset", null, h("legend", null, roster.length ? "Who is missing or injured" : "No roster for this room"),
    roster.map((p) => h("div", { class: "person" }, h("span", null, p.name),
      h("label", null, h("input", { type: "checkbox", name: "missing", value: p.id }), " missing"),
      h("label", null, h("input", { type: "checkbox", name: "injured", value: p.id }), " injured")))));
}

const openReport = form("report-dialog", () => {
  options($("report-room"), roomOptions(), localStorage.getItem("muster-room"));
  for (const r of document.querySelectorAll("#report-form input[name=status]")) r.checked = false;
  $("report-present").value = "";
  peopleChecks();
}, (key) => {
  const f = $("report-form");
  const room = $("report-room").value;
  localStorage.setItem("muster-room", room);
  const body = { status: f.querySelector("input[name=status]:checked").value };
  if ($("report-present").value !== "") body.present = Number($("report-present").value);
  const ticked = (name) => [...f.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
  if (S.board.roster) { body.missing = ticked("missing"); body.injured = ticked("injured"); }
  return send(incidentPath(`rooms/${encodeURIComponent(room)}/status`), body, key);
});
$("report-room").addEventListener("change", peopleChecks);

const openPress = form("press-dialog", () => {
  // A press is always real: during a drill, say so before it reaches live channels.
  $("press-real").hidden = !(S.board.incident && S.board.incident.mode !== "live");
  options($("press-kind"), KINDS.map((k) => [k, said(k)]), "lockdown");
  options($("press-room"), roomOptions(), localStorage.getItem("muster-room"));
}, async (key) => {
  const room = $("press-room").value;
  localStorage.setItem("muster-room", room);
  const result = await send(`/v1/sites/${encodeURIComponent(site)}/alerts`, { kind: $("press-kind").value, room }, key);
  if (result.ok && result.doc && !result.doc.duplicate) {
    // The presser may cancel a false alarm within the site's window: remember whose press it was.
    S.pressed = { incident: result.doc.incident_id, at: Date.now() };
    sessionStorage.setItem("muster-pressed", JSON.stringify(S.pressed));
    renderActions();
  }
  return result;
});

const openProtocol = form("protocol-dialog", () => {
  const open = Boolean(shown(S.board, S.selected).incident);
  $("protocol-room-label").hidden = open;
  $("protocol-room").required = !open;
  options($("protocol-room"), roomOptions(), localStorage.getItem("muster-room"));
  const places = $("places");
  places.replaceChildren(...(S.board.places || []).map((p) => { const o = document.createElement("option"); o.value = p.name; return o; }));
}, (key) => {
  const action = $("protocol-action").value;
  if (!shown(S.board, S.selected).incident) {
    return send(`/v1/sites/${encodeURIComponent(site)}/alerts`, { kind: action, room: $("protocol-room").value }, key);
  }
  const body = { action };
  for (const [field, id] of [["evacuate_to", "protocol-evacuate-to"], ["hazard", "protocol-hazard"], ["strategy", "protocol-strategy"]]) {
    if ($(id).value.trim()) body[field] = $(id).value.trim();
  }
  return send(incidentPath("protocol"), body, key);
});

const openNote = form("note-dialog", () => { $("note-text").value = ""; },
  (key) => send(incidentPath("notes"), { text: $("note-text").value.trim() }, key));

const openCommand = form("command-dialog", () => {}, (key) => send(incidentPath("command"),
  { commander: $("command-name").value.trim(), agency: $("command-agency").value.trim() }, key));

/** One acknowledgement per incident and viewer: every tap and retry sends the same id. */
async function acknowledge() {
  const inc = shown(S.board, S.selected).incident;
  if (!inc || S.acking) return;
  S.acking = true; renderActions();
  try {
    S.ackKeys[inc.id] ||= uuid();
    await send(incidentPath("acks"), { responder: S.name || S.role }, S.ackKeys[inc.id]);
  } finally {
    S.acking = false; renderActions();
  }
}

function allClear() {
  confirmThen("Give the all clear?", "This lifts the protocol for everyone at the site. Only do this when responders say it is safe.",
    "Yes, all clear", (key) => send(incidentPath("all-clear"), {}, key));
}

function cancelAlarm() {
  confirmThen("Cancel this alert as a false alarm?", "Everyone who was alerted gets “FALSE ALARM”, and the incident ends.",
    "Yes, cancel the alert", (key) => send(incidentPath("cancel"), { reason: "false alarm, cancelled from the board" }, key));
}

function renderActions() {
  const nav = $("actions");
  const b = shown(S.board, S.selected);
  const inc = b.incident, role = S.role;
  if (!role || b.mode === "replay" || role === "device") {
    mount(nav, b.mode === "replay" ? h("p", null, "A replay: nothing here changes the real incident.") : null);
    return;
  }
  const buttons = [];
  const add = (label, act, cls = "", disabled = false) => buttons.push(h("button",
    { type: "button", class: cls, onclick: act, disabled, "data-key": `act-${label}` }, label));
  const acked = inc && (b.acks || []).some((a) => a.responder === (S.name || S.role));
  if (role === "staff") {
    add("Press for help", openPress, "danger");
    if (inc) { add("Report my room", openReport, "primary"); add("Add note", openNote); }
  }
  if (role === "commander") {
    add("Declare protocol", openProtocol, "primary");
    if (inc) {
      add("Report a room", openReport);
      if (b.protocol) add("All clear", allClear, "warn");
      add("Cancel — false alarm", cancelAlarm, "warn");
      add("Transfer command", openCommand);
      add("Add note", openNote);
      if (!acked) add("Acknowledge", acknowledge, "", S.acking);
    }
  }
  if ((role === "responder" || role === "dispatch") && inc) {
    add(acked ? "Acknowledged ✓" : "Acknowledge", acknowledge, acked ? "" : "primary", acked || S.acking);
    if (role === "responder") add("Add note", openNote);
  }
  const mine = S.pressed && inc && S.pressed.incident === inc.id;
  const left = mine ? (b.cancel_window_s ?? 10) - (Date.now() - S.pressed.at) / 1000 : 0;
  if (role === "staff" && left > 0) add(`Cancel — false alarm`, cancelAlarm, "warn");
  mount(nav, buttons.length ? buttons : h("p", null, "Nothing to do from this role while no incident is open."));
}

// --- a room's detail ---------------------------------------------------------------------------

function drawRoom() {
  mount($("room-body"), roomView(S.board, ctx(), S.roomOpen, S.history));
}

/** Events about the open room, each once, in stream order; held while the timeline loads. */
function addHistory(events) {
  if (S.history == null) { S.pendingHistory.push(...events); return; }
  const seen = new Set(S.history.map((ev) => ev.seq));
  S.history = [...S.history, ...events.filter((ev) => !seen.has(ev.seq))].sort((a, b) => a.seq - b.seq);
}

async function openRoom(id) {
  const inc = shown(S.board, S.selected).incident;
  S.roomOpen = id; S.roomIncident = inc ? inc.id : null; S.history = null; S.pendingHistory = [];
  drawRoom();
  const dialog = $("room-dialog");
  if (!dialog.open) dialog.showModal();
  let events = [];
  if (inc) {
    try {
      const resp = await fetch(`/v1/incidents/${encodeURIComponent(inc.id)}/timeline`,
        { headers: { Authorization: `Bearer ${S.token}` }, cache: "no-store" });
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      events = (await resp.json()).events.filter((ev) => ev.data && ev.data.room === id);
    } catch {
      events = null;  // said as such: "no report yet" would be a false statement
    }
  }
  if (S.roomOpen !== id) return;
  if (events === null) { S.history = false; drawRoom(); return; }
  S.history = [];
  addHistory([...events, ...S.pendingHistory]);
  S.pendingHistory = [];
  drawRoom();
}
$("room-dialog").addEventListener("close", () => { S.roomOpen = null; S.history = null; });

// --- replay controls ---------------------------------------------------------------------------

function replayState() {
  $("replay-state").textContent = S.paused ? `paused — ${S.buffer.length} updates waiting`
    : S.buffer.length ? `playing — ${S.buffer.length} to go` : "playing as it arrives";
}

/** Hold the board at the replay's first moment and fetch every update since: Play steps them. */
function fromStart() {
  S.paused = true; S.buffer = [];
  S.board = { site, seq: 0, mode: "replay", rooms: [] };
  render();
  reconnectNow();  // since=0: the gateway keeps a replay board's whole run while it is short
  replayState();
}

async function play() {
  S.paused = false; replayState();
  if (S.playing) return;  // one player at a time: a second Play only unpauses it
  S.playing = true;
  try { await drain(); } finally { S.playing = false; }
}

async function drain() {
  while (S.buffer.length && !S.paused) {
    const speed = Number($("replay-speed").value);
    const next = S.buffer.shift();
    const after = S.buffer[0];
    apply(next, performance.now());
    replayState();
    if (after && speed > 0 && next.event && after.event) {
      const gap = Date.parse(after.event.occurred_at) - Date.parse(next.event.occurred_at);
      await new Promise((r) => setTimeout(r, Math.min(Math.max(gap, 0) / speed, 5000)));
    }
  }
}

// --- wiring ------------------------------------------------------------------------------------

function onBoardClick(ev) {
  const target = ev.target.closest("[data-room],[data-open-room],[data-incident],#back-to-current");
  if (!target) return;
  if (target.id === "back-to-current") { S.selected = null; render(); return; }
  if (target.dataset.incident) { S.selected = target.dataset.incident; render(); return; }
  openRoom(target.dataset.room || target.dataset.openRoom);
}

document.addEventListener("DOMContentLoaded", async () => {
  const board = $("board");
  board.addEventListener("click", onBoardClick);
  board.addEventListener("keydown", (ev) => {
    if ((ev.key === "Enter" || ev.key === " ") && ev.target.matches("g[data-room]")) { ev.preventDefault(); onBoardClick(ev); }
  });
  // A wall screen is set up once: `#token=…&large=1` in its link turns large text on for good.
  if (params.get("large")) localStorage.setItem("muster-large", params.get("large") === "1" ? "1" : "0");
  const large = localStorage.getItem("muster-large") === "1";
  document.documentElement.classList.toggle("large", large);
  $("large").setAttribute("aria-pressed", String(large));
  $("large").onclick = () => {
    const on = document.documentElement.classList.toggle("large");
    $("large").setAttribute("aria-pressed", String(on));
    localStorage.setItem("muster-large", on ? "1" : "0");
  };
  if (site.startsWith("replay-")) {
    $("replay-controls").hidden = false;
    $("replay-pause").onclick = () => { S.paused = true; replayState(); };
    $("replay-play").onclick = play;
    $("replay-start").onclick = fromStart;
    replayState();
  }
  // Back from sleep or a dead network: resume now with `since`, not after the backoff.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { S.hiddenAt = Date.now(); return; }
    if (!S.live || Date.now() - S.hiddenAt > 20000) reconnectNow();
  });
  window.addEventListener("online", () => { if (!S.live) reconnectNow(); });
  setInterval(() => { freshness(); if (S.board && !S.paused) render(); }, 1000);
  if (!S.token) { askToken(); return; }
  sessionStorage.setItem("muster-token", S.token);
  history.replaceState(null, "", location.pathname);
  await whoami();
  if (!S.ended) connect();
});
