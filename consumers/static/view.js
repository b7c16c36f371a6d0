// The board as a person sees it: one pure function from the board's JSON (as the WebSocket sent
// it to this role) and the viewer's context to virtual nodes. It draws only what it was sent.
import { h } from "./dom.js";
import { ago, attention, banner, clock } from "./banner.js";
import { planView } from "./plan.js";
import { STATUS, said } from "./status.js";
import { isRoom, unitLine, unitsView } from "./units.js";

const CASE_KEYS = ["incident", "protocol", "rooms", "accountability", "people", "flags", "acks",
  "notes", "notes_total", "channels", "dispatch"];

/** The case shown: the board's own, or another open incident's when the viewer picked it. */
export function shown(board, selected) {
  const other = (board.other_cases || []).find((c) => c.incident && c.incident.id === selected);
  if (!other) return board;
  const view = { ...board };
  for (const key of CASE_KEYS) view[key] = other[key] ?? (Array.isArray(board[key]) ? [] : null);
  return view;
}

const num = (n) => Number(n || 0).toLocaleString("en-US");

/** A replay board runs on the original incident's clock (its latest event), not the wall's. */
function onClock(b, ctx) {
  return b.mode === "replay" && b.clock && b.clock.at ? { ...ctx, now: Date.parse(b.clock.at), skew: 0 } : ctx;
}

/** The replay bar's line: "Original time 10:04:12 (+4:12 from the start) · Tue, Dec 1, 2026". */
export function originalTime(b) {
  if (!b || b.mode !== "replay" || !b.clock || !b.clock.at) return "";
  const at = new Date(b.clock.at);
  const day = at.toLocaleDateString([], { weekday: "short", month: "short", day: "numeric", year: "numeric" });
  if (!b.clock.started_at) return `Original time ${clock(b.clock.at)} · ${day}`;
  const s = Math.round((at - Date.parse(b.clock.started_at)) / 1000), a = Math.abs(s);
  const mm = Math.floor(a / 60) % 60, ss = String(a % 60).padStart(2, "0");
  const span = a >= 3600 ? `${Math.floor(a / 3600)}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
  return `Original time ${clock(b.clock.at)} (${s < 0 ? "-" : "+"}${span} from the start) · ${day}`;
}

function personName(board, id) {
  for (const people of Object.values(board.roster || {})) {
    const p = people.find((x) => x.id === id);
    if (p) return p.name;
  }
  return (board.people || []).find((p) => p.id === id)?.name || id;
}

function counts(b) {
  const rooms = (b.rooms || []).filter(isRoom);
  const reported = rooms.filter((r) => r.status).length;
  const a = b.accountability || {};
  const known = (a.total || 0) - (a.unknown || 0) - (a.missing || 0);
  const parts = ["accounted", "injured", "missing", "absent", "reunified", "unknown"]
    .map((k) => h("span", { class: `pill c-${k}` }, `${num(a[k])} ${k}`));
  return h("section", { id: "counts", class: "box counts" },
    h("div", { id: "rooms-reported", class: "count" }, h("b", null, `${reported} of ${rooms.length}`), " rooms reported"),
    h("div", { id: "people-accounted", class: "count" }, h("b", null, `${num(known)} of ${num(a.total)}`), " people accounted for"),
    h("div", { class: "breakdown" }, parts));
}

function roomList(b) {
  const pressed = b.incident && b.incident.room;
  const rooms = (b.rooms || []).filter(isRoom).sort((x, y) => (STATUS[x.status || "none"].rank - STATUS[y.status || "none"].rank)
    || x.id.localeCompare(y.id));
  return h("section", { class: "box", "aria-labelledby": "rooms-h" }, h("h2", { id: "rooms-h" }, "Rooms"),
    h("div", { id: "rooms", class: "rooms" }, rooms.map((r) => {
      const s = STATUS[r.status || "none"];
      const a = r.accountability || {};
      return h("button", { type: "button", class: `room s-${r.status || "none"}`, "data-room": r.id,
        "data-status": r.status || "none", "data-key": `room-${r.id}` },
      h("span", { class: "glyph", "aria-hidden": "true" }, s.glyph),
      h("span", { class: "rid" }, r.id), h("span", { class: "rname" }, r.name),
      h("span", { class: "rstatus" }, r.id === pressed ? `${s.word} · ▲ alert raised here` : s.word),
      a.total ? h("span", { class: "rcount" }, `${a.total - (a.unknown || 0) - (a.missing || 0)}/${a.total}`) : null);
    })));
}

const UNIT = { dispatched: "dispatched", en_route: "en route", on_scene: "on scene", cleared: "cleared",
  available: "available" };
const words = (registry) => String(registry || "").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();

/** 911's call as the CAD last sent it: the number, the type, each unit's state and ETA. */
function dispatchView(d, ctx) {
  if (d.summary) return h("div", { id: "dispatch" }, h("p", { class: "dhead" }, `911: ${d.summary}`));
  const head = [`911 call ${d.cad_id || ""}`.trim(), d.type_text || d.type,
    d.priority != null ? `priority ${d.priority}` : null].filter(Boolean).join(" · ");
  const order = ["on_scene", "en_route", "dispatched", "cleared", "available"];
  const units = [...(d.units || [])].sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status));
  return h("div", { id: "dispatch" },
    h("p", { class: "dhead" }, head),
    d.status ? h("p", null, `Status: ${words(d.status)}${d.agency ? ` · ${d.agency}` : ""}`) : null,
    units.length ? h("ul", { class: "units" }, units.map((u) => h("li", { class: `u-${u.status}` },
      `${u.name || u.id} — ${UNIT[u.status] || u.status}`,
      u.eta && u.status !== "on_scene" ? ` · ETA ${clock(u.eta)}${Date.parse(u.eta) > ctx.now + (ctx.skew || 0)
        ? ` (in ${ago(Date.parse(u.eta) - ctx.now - (ctx.skew || 0))})` : ""}` : ""))) : h("p", null, "No unit assigned yet"),
    (d.notes || []).length ? h("ul", { class: "dnotes" }, [].concat(d.notes).map((n) => h("li", null, typeof n === "string" ? n : n.text || ""))) : null,
    d.updated_at ? h("p", { class: "more" }, `CAD update at ${clock(d.updated_at)}`) : null);
}

function command(b, ctx) {
  const inc = b.incident, d = b.dispatch;
  return h("section", { id: "command-box", class: "box" }, h("h2", null, "Command and 911"),
    h("p", { id: "command" }, inc ? (inc.commander ? `${inc.commander}${inc.agency ? ` (${inc.agency})` : ""} has command`
      : "No commander named yet") : "No incident open"),
    d ? dispatchView(d, ctx) : null);
}

function packet(b) {
  const p = b.responder_packet;
  if (!p) return null;
  const row = (k, v) => (v && (!Array.isArray(v) || v.length) ? [h("dt", null, k),
    h("dd", null, Array.isArray(v) ? h("ul", null, v.map((x) => h("li", null, x))) : v)] : null);
  return h("section", { id: "packet", class: "box packet" }, h("h2", null, "Responder packet"),
    h("dl", null, row("Knox box", p.knox_box), row("Door codes", p.door_codes), row("AEDs", p.aeds),
      row("Maps", p.maps), row("Cameras", p.cameras),
      row("Contacts", (p.contacts || []).map((c) => `${c.role}: ${c.name}${c.phone ? ` ${c.phone}` : ""}`))));
}

function people(b) {
  if (!("people" in b) || b.people == null) return null;
  const list = b.people.length ? b.people.map((p) => h("li", { class: `c-${p.status}` },
    `${p.status === "injured" ? "Injured" : "Missing"}: ${p.name}${p.room ? ` · ${p.room}` : ""}`))
    : [h("li", null, "Nobody missing or injured")];
  return h("section", { class: "box" }, h("h2", null, "Missing and injured"), h("ul", { id: "people" }, list),
    "flags" in b ? h("h2", null, "Custody and guardian flags") : null,
    "flags" in b ? h("ul", { id: "flags" }, (b.flags || []).length ? b.flags.map((f) => h("li", null, f)) : [h("li", null, "None")]) : null);
}

function channels(b) {
  const rows = b.channels || [];
  return h("section", { class: "box", "aria-labelledby": "ch-h" }, h("h2", { id: "ch-h" }, "Notifications"),
    rows.length ? h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": "Notifications per channel" }, h("table", { id: "channels" },
      h("thead", null, h("tr", null, ["Channel", "Sent", "Failed", "Escalated", "Acknowledged"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, rows.map((c) => h("tr", { "data-channel": c.channel, class: c.last_ok === false ? "failing" : "" },
        h("th", { scope: "row" }, c.channel), h("td", null, String(c.sent)), h("td", null, String(c.failed)),
        h("td", null, c.escalated ? `${c.escalated} → ${(c.escalated_to || []).join(", ")}` : "0"),
        h("td", null, c.acknowledged_at ? clock(c.acknowledged_at) : "not yet"))))))
      : h("p", { id: "channels" }, "No notification sent yet"),
    rows.some((c) => c.last_error) ? h("details", { "data-key": "errors" }, h("summary", null, "Last errors"),
      h("ul", null, rows.filter((c) => c.last_error).map((c) => h("li", null, `${c.channel}: ${c.last_error}`)))) : null,
    (b.notifications_total || 0) > 0 ? h("details", { "data-key": "sends" }, h("summary", null, `Latest sends (${(b.notifications || []).length} of ${b.notifications_total})`),
      h("ul", null, [...(b.notifications || [])].reverse().map((n) => h("li", null,
        `${clock(n.at)} ${n.channel}: ${n.escalated_to && n.escalated_to.length ? `escalated to ${n.escalated_to.join(", ")}` : n.ok ? "sent" : `failed (${n.error || "error"})`}`)))) : null);
}

function timeline(b) {
  const items = [
    ...(b.notes || []).map((n) => ({ at: n.at, text: `${n.by}: ${n.text}`, kind: "note" })),
    ...(b.acks || []).map((a) => ({ at: a.at, text: `${a.responder} acknowledged`, kind: "ack" })),
  ].sort((x, y) => Date.parse(y.at) - Date.parse(x.at));
  const more = (b.notes_total || 0) > (b.notes || []).length ? `latest ${(b.notes || []).length} of ${b.notes_total} notes` : null;
  return h("section", { class: "box", "aria-labelledby": "tl-h" }, h("h2", { id: "tl-h" }, "Timeline and notes"),
    more ? h("p", { class: "more" }, more) : null,
    h("ol", { id: "timeline" }, items.length ? items.map((i) => h("li", { class: i.kind }, h("time", null, clock(i.at)), " ", i.text))
      : [h("li", null, "Nothing yet")]));
}

function others(board, ctx) {
  const cases = board.other_cases || [];
  if (!cases.length && !ctx.selected) return null;
  const current = board.incident;
  return h("nav", { id: "others", class: "others", "aria-label": "Other open incidents" },
    ctx.selected && current ? h("button", { type: "button", id: "back-to-current", "data-key": "back",
      class: `back m-${current.mode}` },
    `${current.mode === "live" ? "LIVE INCIDENT IN PROGRESS" : current.mode.toUpperCase()}: ${said(current.kind)} — back to it`) : null,
    cases.filter((c) => c.incident.id !== ctx.selected).map((c) => h("button", { type: "button",
      "data-incident": c.incident.id, "data-key": `other-${c.incident.id}` },
    `Also open: ${c.incident.mode.toUpperCase()} ${said(c.incident.kind)}${c.protocol ? ` (${c.protocol.action})` : ""} — view`)));
}

/** A tabletop's latest inject, large, above everything it asks the table to act on; the earlier ones folded. */
function injectView(b) {
  const all = b.injects || [];
  if (!all.length) return null;
  const last = all[all.length - 1], earlier = all.slice(0, -1).reverse();
  const line = (i) => `${i.clock || clock(i.at)}${i.source ? ` · ${i.source}` : ""}`;
  return h("section", { id: "inject", class: "inject", "aria-live": "polite", "aria-labelledby": "inject-h" },
    h("h2", { id: "inject-h" }, `Inject ${last.index + 1}`, h("span", { class: "inject-when" }, ` ${line(last)}`)),
    h("p", { id: "inject-text", class: "inject-text" }, last.text),
    earlier.length ? h("details", { "data-key": "injects" }, h("summary", null, `Earlier injects (${(b.injects_total || all.length) - 1})`),
      h("ol", { id: "injects-earlier" }, earlier.map((i) => h("li", null, h("b", null, `${i.index + 1}. ${line(i)}: `), i.text)))) : null);
}

/** The mode a board is in, as its people must read it: a live incident at a replay board is still a replay. */
export function modeOf(b) {
  return (b.incident && b.mode !== "replay" ? b.incident.mode : b.mode) || "live";
}

/** The whole board region: what is happening, what needs attention, the counts, then the rest. */
export function view(board, viewer) {
  const b = shown(board, viewer.selected), ctx = onClock(b, viewer);
  const mode = modeOf(b);
  return [
    h("div", { id: "modebar", class: `modebar m-${mode}` },
      h("span", { id: "mode", class: "mode" }, mode.toUpperCase()),
      h("span", null, mode === "drill" ? "Not a real emergency" : mode === "tabletop"
        ? "— discussion exercise, nothing is sent" : mode === "replay"
        ? "A past incident played again: nothing here is happening now" : b.incident ? "Real incident" : "No incident"),
      h("span", { class: "sitename" }, b.name || b.site)),
    others(board, ctx),
    injectView(b),
    banner(b, ctx),
    h("div", { class: "top" }, attention(b, ctx), counts(b)),
    h("div", { class: "main" },
      h("div", { class: "col-a" },
        unitsView(b),
        h("section", { class: "box", "aria-labelledby": "plan-h" }, h("h2", { id: "plan-h" }, "Floor plan"),
          h("div", { id: "plan", class: "plan" }, planView((b.rooms || []).filter(isRoom), b.plan, b.incident && b.incident.room))),
        roomList(b)),
      h("div", { class: "col-b" }, command(b, ctx), packet(b), people(b), channels(b), timeline(b))),
  ];
}

/** A room's detail, for the dialog: its report, its people (if this role has names), its history. */
export function roomView(board, ctx, id, history) {
  const b = shown(board, ctx.selected);
  const r = (b.rooms || []).find((x) => x.id === id);
  if (!r) return [h("p", null, `Unknown room ${id}`)];
  const s = STATUS[r.status || "none"];
  const a = r.accountability || {};
  const names = (ids) => ids.map((pid) => personName(b, pid)).join(", ");
  const roster = b.roster ? b.roster[id] || [] : null;
  return [
    h("h2", { id: "room-title" }, `${r.id} ${r.name}`),
    h("p", { class: `rstate s-${r.status || "none"}` }, `${s.glyph} ${s.word}`,
      r.reported_at ? ` · reported by ${r.reported_by} at ${clock(r.reported_at)}` : ""),
    h("p", null, `${isRoom(r) ? `Building ${r.building || "—"}, floor ${r.floor}, ${r.zone || "no"} zone` : unitLine(r)} · ${a.total ? `${a.total - (a.unknown || 0) - (a.missing || 0)} of ${a.total} accounted for` : "no roster"}`
      + (r.present != null ? ` · head count ${r.present}` : "")),
    (r.injured || []).length ? h("p", { class: "c-injured" }, `Injured: ${names(r.injured)}`) : null,
    (r.missing || []).length ? h("p", { class: "c-missing" }, `Missing: ${names(r.missing)}`) : null,
    (r.extra || []).length ? h("p", null, `Also here: ${names(r.extra)}`) : null,
    roster ? h("details", { id: "room-people", "data-key": "room-people" }, h("summary", null, `People ${r.unit === "bus" ? "on this bus" : r.unit === "away_event" ? "at this event" : "in this room"} (${roster.length})`),
      h("ul", null, roster.map((p) => h("li", null, `${p.name} · ${p.kind}`)))) : null,
    h("h3", null, "History"),
    h("ol", { id: "room-history" }, history === false ? [h("li", null, "History unavailable right now (no answer from the server)")]
      : history == null ? [h("li", null, "Loading…")]
      : history.length ? history.map((ev) => h("li", null, h("time", null, clock(ev.occurred_at)), ` ${ev.actor ? ev.actor.id : ""}: ${said(ev.data.status || ev.type)}`
        + (ev.data.present != null ? `, head count ${ev.data.present}` : "")))
        : [h("li", null, "No report from this room yet")]),
  ];
}
