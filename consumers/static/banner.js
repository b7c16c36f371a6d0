// The top of the board: the banner (the action, the words people hear, where it was raised and
// the places an evacuation has gone) and what needs attention now, with the clock words for both.
import { h } from "./dom.js";
import { said } from "./status.js";
import { isRoom, placesView, raisedWhere, whereText } from "./units.js";

export function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const clock = (at) => new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function since(at, ctx) { return ago(ctx.now + (ctx.skew || 0) - Date.parse(at)); }

/** A room by its id and name; a bus or an away event by its name alone. */
const label = (r) => (isRoom(r) ? `${r.id} ${r.name}` : r.name);

/** " (B-112)" for a room, " · on Bus 7 (north route)" for a unit: where a person was counted. */
function at(b, id, lead) {
  const r = (b.rooms || []).find((x) => x.id === id);
  return r && !isRoom(r) ? ` · ${lead}${raisedWhere(r, id)}` : ` (${lead}${lead ? "in " : ""}${id})`;
}

export function banner(b, ctx) {
  const p = b.protocol, inc = b.incident;
  const [action, ...rest] = p ? p.directive.split("!") : ["No protocol in force"];
  let where = "";
  if (inc) {
    const parts = [said(inc.kind)];
    const unit = inc.room && (b.rooms || []).find((r) => r.id === inc.room);
    if (inc.room) parts.push(`raised ${raisedWhere(unit, inc.room)}`);
    if (unit && !isRoom(unit) && whereText(unit.location)) parts.push(`${unit.unit === "bus" ? "at " : ""}${whereText(unit.location)}`);
    if (p && p.zones && p.zones.length) parts.push(`zones: ${p.zones.join(", ")}`);
    where = parts.join(" · ");
  }
  const when = p ? `declared ${since(p.declared_at, ctx)} ago (${clock(p.declared_at)})`
    : inc ? `opened ${since(inc.opened_at, ctx)} ago (${clock(inc.opened_at)}) · no protocol declared yet` : "";
  return h("section", { id: "banner", class: `banner a-${p ? p.action : "none"}`, "data-action": p ? p.action : "none",
    "aria-live": "polite" },
  h("div", { id: "action", class: "action" }, p ? `${action}!` : inc ? "Alert raised" : "All clear"),
  h("div", { id: "directive", class: "directive" }, p ? rest.join("!").trim() : inc ? "Waiting for a protocol"
    : b.mode === "replay" ? "No incident open at this point of the replay." : "No incident is open at this site."),
  placesView(p),
  h("div", { id: "where", class: "where" }, where),
  h("div", { id: "since", class: "since" }, when),
  inc && inc.silent ? h("div", { class: "silent" }, "SILENT ALARM — responders only; do not announce") : null,
  inc && inc.note ? h("div", { class: "note" }, `Note: ${inc.note}`) : null);
}

export function attention(b, ctx) {
  const items = [];
  const add = (kind, text, room) => items.push(h("li", { "data-kind": kind, class: `att ${kind}` },
    room ? h("button", { type: "button", class: "link", "data-open-room": room, "data-key": `att-${kind}-${room}-${items.length}` }, text) : text));
  for (const r of b.rooms || []) if (r.status === "needs_help") add("room", `${label(r)} — needs help`, r.id);
  for (const r of b.rooms || []) if (r.status === "unreachable") add("room", `${label(r)} — no contact`, r.id);
  const pressed = b.incident && b.incident.room && (b.rooms || []).find((r) => r.id === b.incident.room);
  if (pressed && !pressed.status) add("room", `Alert raised ${raisedWhere(pressed)} — no report from it yet`, pressed.id);
  if (b.people && b.people.length) {
    for (const p of b.people.filter((x) => x.status === "injured")) add("injured", `Injured: ${p.name}${p.room ? at(b, p.room, "") : ""}`, p.room);
    for (const p of b.people.filter((x) => x.status === "missing")) add("missing", `Missing: ${p.name}${p.room ? at(b, p.room, "last ") : ""}`, p.room);
  } else {
    // Roles without names still learn how many, and where.
    for (const r of b.rooms || []) {
      if ((r.injured || []).length) add("injured", `${r.injured.length} injured ${isRoom(r) ? "in " : ""}${label(r)}`, r.id);
      if ((r.missing || []).length) add("missing", `${r.missing.length} missing from ${label(r)}`, r.id);
    }
  }
  if (b.incident && !(b.acks || []).length) add("unacked", `No responder has acknowledged — alert ${since(b.incident.opened_at, ctx)} ago`);
  // Channels failing for one reason are one line: twenty identical errors hide the one that differs.
  const failing = new Map();
  for (const c of b.channels || []) {
    if (c.last_ok !== false) continue;
    const why = c.last_error || "send failed";
    failing.set(why, [...(failing.get(why) || []), c.channel]);
  }
  for (const [why, names] of failing) add("channel", `${names.length > 1 ? `${names.length} channels` : "Channel"} failing (${names.join(", ")}): ${why}`);
  for (const f of b.flags || []) add("flag", `Custody flag: ${f}`);
  const early = b.incident && b.incident.reunification_opened;
  if (early) add("flag", `Reunification opened early by ${early.by}: ${early.reason}`);
  if (!items.length) items.push(h("li", { "data-kind": "none", class: "att none" }, "Nothing needs attention now"));
  return h("section", { id: "attention-box", class: "box attention", "aria-labelledby": "att-h" },
    h("h2", { id: "att-h" }, "Needs attention now"), h("ul", { id: "attention" }, items));
}
