// The live board: a snapshot, then updates merged by key (rooms by id); resumes with `since`.
"use strict";
const site = decodeURIComponent(location.pathname.split("/").pop());
const params = new URLSearchParams(location.hash.slice(1));
let token = params.get("token") || sessionStorage.getItem("muster-token") || "";
let board = null;
let retry = 500;

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
  text("directive", p ? p.directive + (p.evacuate_to ? " To: " + p.evacuate_to : "") : "");
  const inc = board.incident;
  text("incident", inc ? `${inc.kind} · opened ${new Date(inc.opened_at).toLocaleTimeString()}`
    + (inc.room ? ` · room ${inc.room}` : "") : "");
  const dl = document.getElementById("accountability");
  dl.replaceChildren(...Object.entries(board.accountability).flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    return [dt, dd];
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

function connect() {
  const since = board ? `&since=${board.seq}` : "";
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/v1/sites/${encodeURIComponent(site)}/board/ws`
    + `?token=${encodeURIComponent(token)}${since}`;
  const ws = new WebSocket(url);
  const conn = document.getElementById("conn");
  ws.onopen = () => { conn.textContent = "live"; conn.className = "conn live"; retry = 500; };
  ws.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.type === "snapshot") board = data.board;
    else if (board && data.seq > board.seq) { merge(data.board); board.seq = data.seq; }
    render();
  };
  ws.onclose = () => {
    conn.textContent = "reconnecting…"; conn.className = "conn down";
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 10000);
  };
}

document.addEventListener("DOMContentLoaded", () => {
  if (token) { sessionStorage.setItem("muster-token", token); history.replaceState(null, "", location.pathname); connect(); return; }
  const form = document.getElementById("login");
  form.hidden = false;
  form.onsubmit = (ev) => {
    ev.preventDefault();
    token = document.getElementById("token").value.trim();
    sessionStorage.setItem("muster-token", token);
    form.hidden = true;
    connect();
  };
});
