// The live board: a snapshot, then updates merged by key (rooms by id); resumes with `since`.
"use strict";
const site = decodeURIComponent(location.pathname.split("/").pop());
const params = new URLSearchParams(location.hash.slice(1));
let token = params.get("token") || sessionStorage.getItem("muster-token") || "";
let board = null;
let retry = 500;
let ended = false;  // access ended: no more attempts until a new token is given
let timer = null;

function text(id, value) { document.getElementById(id).textContent = value ?? ""; }

function list(id, items, fmt) {
  const ul = document.getElementById(id);
  ul.replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    li.textContent = fmt(item);
    return li;
  }));
}

function render() {
  text("site", board.name || board.site);
  const mode = document.getElementById("mode");
  mode.textContent = board.mode === "live" ? "" : board.mode.toUpperCase();
  mode.className = "mode " + board.mode;
  const p = board.protocol;
  document.getElementById("protocol").className = "protocol " + (p ? p.action : "none");
  text("action", p ? (board.mode === "drill" ? "DRILL — " : "") + p.action : "No protocol in force");
  // The directive already names the place, or the hazard and the strategy: shown as it comes.
  text("directive", p ? p.directive : "");
  const inc = board.incident;
  document.getElementById("silent").hidden = !(inc && inc.silent);
  text("incident", inc ? `${inc.kind} · opened ${new Date(inc.opened_at).toLocaleTimeString()}`
    + (inc.room ? ` · room ${inc.room}` : "") : "");
  text("incident-note", inc && inc.note ? `Note: ${inc.note}` : "");
  const early = inc && inc.reunification_opened;
  text("reunification", early ? `Reunification opened early: ${early.reason}`
    + ` · ${early.by} at ${new Date(early.at).toLocaleTimeString()}` : "");
  // One box per status, its label above its count: the pair cannot drift apart in the grid.
  const dl = document.getElementById("accountability");
  dl.replaceChildren(...Object.entries(board.accountability).map(([k, v]) => {
    const pair = document.createElement("div"); pair.className = "count " + k;
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    pair.append(dt, dd);
    return pair;
  }));
  document.getElementById("rooms").replaceChildren(...board.rooms.map((r) => {
    const div = document.createElement("div");
    div.className = "room " + (r.status || "");
    const b = document.createElement("b"); b.textContent = r.id;
    const a = r.accountability || {};
    div.append(b, `${r.name} — ${r.status || "no report"}`,
      document.createElement("br"), `${a.accounted || 0}/${a.total || 0} accounted`);
    return div;
  }));
  list("acks", board.acks, (a) => `${a.responder} at ${new Date(a.at).toLocaleTimeString()}`);
  list("notifications", board.notifications,
    (n) => `${n.channel}: ${n.ok ? "sent" : "FAILED " + (n.error || "")}`);
  list("notes", board.notes || [], (n) => `${n.by}: ${n.text}`);
  const shown = (board.notes || []).length, total = board.notes_total ?? shown;
  text("notes-more", total > shown ? `latest ${shown} of ${total}; the timeline has all` : "");
  list("flags", board.flags || [], (f) => f);
}

function merge(changes) {
  for (const [key, value] of Object.entries(changes)) {
    if (key !== "rooms") { board[key] = value; continue; }
    const byId = new Map(board.rooms.map((r) => [r.id, r]));
    for (const room of value) byId.set(room.id, room);
    board.rooms = [...byId.values()];
  }
}

function endAccess() {
  ended = true;
  clearTimeout(timer);
  token = "";
  sessionStorage.removeItem("muster-token");
  const conn = document.getElementById("conn");
  conn.textContent = "access ended"; conn.className = "conn down";
  document.getElementById("ended").hidden = false;
  document.body.classList.add("access-ended");  // what it may no longer see leaves the screen
  askToken();
}

// A refused upgrade reaches a script as a bare close (1006), without its HTTP status: the same
// token asks for the board over HTTP to tell ended access (401/403) from anything else.
async function refused() {
  try {
    const resp = await fetch(`/v1/sites/${encodeURIComponent(site)}/board`,
      { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
    return resp.status === 401 || resp.status === 403;
  } catch {
    return false;  // the network: retry as for any other failure
  }
}

function connect() {
  const since = board ? `&since=${board.seq}` : "";
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/v1/sites/${encodeURIComponent(site)}/board/ws`
    + `?token=${encodeURIComponent(token)}${since}`;
  const ws = new WebSocket(url);
  const conn = document.getElementById("conn");
  let opened = false;
  ws.onopen = () => {
    opened = true; conn.textContent = "live"; conn.className = "conn live"; retry = 500;
  };
  ws.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.type === "snapshot") board = data.board;
    else if (board && data.seq > board.seq) { merge(data.board); board.seq = data.seq; }
    if (board) render();
  };
  ws.onclose = async (ev) => {
    if (ended) return;
    // 1008: the server closed the board because its token was revoked or expired.
    if (ev.code === 1008 || (!opened && await refused())) { endAccess(); return; }
    conn.textContent = "reconnecting…"; conn.className = "conn down";
    timer = setTimeout(connect, retry);
    retry = Math.min(retry * 2, 10000);
  };
}

function askToken() {
  const form = document.getElementById("login");
  document.getElementById("token").value = "";
  form.hidden = false;
  form.onsubmit = (ev) => {
    ev.preventDefault();
    token = document.getElementById("token").value.trim();
    if (!token) return;
    sessionStorage.setItem("muster-token", token);
    form.hidden = true;
    document.getElementById("ended").hidden = true;
    document.body.classList.remove("access-ended");
    ended = false; retry = 500;
    board = null;  // a new token may be another role's: start from its own snapshot
    connect();
  };
}

document.addEventListener("DOMContentLoaded", () => {
  if (!token) { askToken(); return; }
  sessionStorage.setItem("muster-token", token);
  history.replaceState(null, "", location.pathname);
  connect();
});
