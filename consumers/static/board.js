// The live board page: a snapshot, then updates merged by key, resumed with `since` after any
// drop; the view is drawn by view.js from what the WebSocket sent this role, and actions go
// through the HTTP API (actions.js). The token lives in the URL fragment or sessionStorage only.
import { mount } from "./dom.js";
import { renderActions } from "./acting.js";
import { apply, askToken, connect, freshness, reconnectNow, whoami } from "./socket.js";
import { $, ctx, hook, params, S, site, ui } from "./state.js";
import { modeOf, originalTime, roomView, shown, view } from "./view.js";

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
  if (site.startsWith("replay-")) $("replay-clock").textContent = originalTime(S.board);
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
ui.render = render; ui.addHistory = addHistory;

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

ui.replayState = replayState;

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
