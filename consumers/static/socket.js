// The board's WebSocket: a snapshot, then updates merged by key; after any drop it resumes with
// `since`, and when access ends it stops, clears what the token showed, and asks for another.
import { clear } from "./dom.js";
import { $, hook, S, site, ui } from "./state.js";

export function freshness() {
  const conn = $("conn");
  if (S.ended) return;
  if (S.live) { conn.textContent = "live"; conn.className = "conn live"; return; }
  conn.className = "conn down";
  conn.textContent = S.lastMessage
    ? `reconnecting — last update ${Math.round((Date.now() - S.lastMessage) / 1000)} s ago` : "connecting…";
}

function merge(changes) {
  for (const [key, value] of Object.entries(changes)) {
    if (key !== "rooms") { S.board[key] = value; continue; }
    const byId = new Map(S.board.rooms.map((r) => [r.id, r]));
    for (const room of value) byId.set(room.id, room);
    S.board.rooms = [...byId.values()];
  }
}

export function apply(data, received) {
  if (data.type === "snapshot") S.board = data.board;
  else if (S.board && data.seq > S.board.seq) {
    merge(data.board); S.board.seq = data.seq;
    const ev = data.event;
    if (S.roomOpen && ev && ev.data && ev.data.room === S.roomOpen && ev.incident_id === S.roomIncident) {
      ui.addHistory([{ ...ev, seq: data.seq }]);
    }
  }
  ui.render(received);
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

export function connect() {
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
    if ((S.paused || S.buffer.length) && data.type === "update") { S.buffer.push(data); ui.replayState(); return; }
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

export function reconnectNow() {
  if (S.ended || !S.token) return;
  const old = S.ws;
  S.ws = null;
  if (old) { old.onclose = null; old.close(); }
  S.live = false; freshness();
  connect();
}

export function endAccess() {
  S.ended = true; S.live = false;
  clearTimeout(S.timer);
  const old = S.ws;  // an open socket would otherwise go on delivering what the token showed
  S.ws = null;
  if (old) { old.onclose = null; old.close(); }
  S.token = "";
  sessionStorage.removeItem("muster-token");
  const conn = $("conn");
  conn.textContent = "access ended"; conn.className = "conn down";
  $("ended").hidden = false;
  document.body.classList.add("access-ended");
  for (const d of document.querySelectorAll("dialog[open]")) d.close();
  // What it may no longer see leaves the page, not only the screen.
  S.board = null; S.buffer = []; S.ackKeys = {}; S.role = null; S.name = null; S.pressed = null;
  hook.board = null; hook.role = null; $("role").textContent = "";
  sessionStorage.removeItem("muster-pressed");
  clear($("board")); clear($("actions")); clear($("room-body")); clear($("report-people"));
  askToken();
}

export function askToken() {
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

export async function whoami() {
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
