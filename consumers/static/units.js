// Buses and away events, drawn beside the buildings: each unit with its status, its accounted
// count and where it is (words and coordinates as plain text: no map tiles leave the school's
// server), and the evacuation's places in order, the earlier ones struck through.
import { h } from "./dom.js";
import { STATUS } from "./status.js";

export const GROUPS = [["bus", "Buses", "buses"], ["away_event", "Away events", "away-events"]];

/** A room of a building: what the floor plan and the room list draw (a board before units had none). */
export const isRoom = (r) => !r.unit || r.unit === "room";

const clock = (at) => new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** "41.88120, -87.63010": enough to find the spot on any map the reader already has. */
export function coords(loc) {
  return loc && loc.lat != null && loc.lon != null ? `${loc.lat.toFixed(5)}, ${loc.lon.toFixed(5)}` : "";
}

/** Where a unit is, in one line: its words, then its coordinates; "" when nobody said. */
export function whereText(loc) {
  if (!loc) return "";
  const c = coords(loc);
  return [loc.text, c ? `(${c})` : ""].filter(Boolean).join(" ");
}

/** "on Bus 7 (north route)" / "at Varsity football…" / "in B-112 Biology": how a banner says where. */
export function raisedWhere(r, id) {
  if (!r) return `in ${id}`;
  if (r.unit === "bus") return `on ${r.name}`;
  if (r.unit === "away_event") return `at ${r.name}`;
  return `in ${r.id} ${r.name}`;
}

/** A unit's line in its detail dialog, in place of a room's building, floor and zone. */
export function unitLine(r) {
  const where = whereText(r.location);
  if (r.unit === "bus") return `Bus ${r.id} · ${where ? `last told at ${where}` : "location not given"}`;
  return `Away event ${r.id} · ${where ? `at ${where}` : "place not given"}`;
}

/** A unit nobody is counted on, with no report and no alert: nothing to ask of it (a bus in the lot). */
const idle = (r, pressed) => !r.status && !(r.accountability || {}).total && r.id !== pressed;

function card(r, pressed) {
  const s = STATUS[r.status || "none"] || STATUS.none;
  const a = r.accountability || {};
  const where = whereText(r.location);
  if (idle(r, pressed ? r.id : null)) {
    return h("button", { type: "button", class: "room unit s-idle", "data-room": r.id, "data-unit": r.unit,
      "data-status": "idle", "data-key": `unit-${r.id}` },
    h("span", { class: "glyph", "aria-hidden": "true" }, "○"), h("span", { class: "rid" }, r.name),
    h("span", { class: "rname" }, where ? `${r.unit === "bus" ? "At" : "Place"}: ${where}` : "Not in use"),
    h("span", { class: "rstatus" }, "Nobody counted here · no report needed"));
  }
  return h("button", { type: "button", class: `room unit s-${r.status || "none"}${pressed ? " pressed" : ""}`,
    "data-room": r.id, "data-unit": r.unit, "data-status": r.status || "none", "data-key": `unit-${r.id}` },
  h("span", { class: "glyph", "aria-hidden": "true" }, pressed && !r.status ? "▲" : s.glyph),
  h("span", { class: "rid" }, r.name),
  h("span", { class: "rname" }, where ? `${r.unit === "bus" ? "At" : "Place"}: ${where}` : r.unit === "bus"
    ? "Location not given" : "Place not given"),
  h("span", { class: "rstatus" }, pressed ? `${s.word} · ▲ alert raised here` : s.word),
  h("span", { class: "rcount" }, a.total ? `${a.total - (a.unknown || 0) - (a.missing || 0)}/${a.total} accounted` : "nobody placed"));
}

/** The "Buses" and "Away events" groups, each only when the board has one of its kind. */
export function unitsView(b) {
  const pressed = b.incident && b.incident.room;
  const groups = GROUPS.map(([unit, title, id]) => {
    const units = (b.rooms || []).filter((r) => r.unit === unit);
    if (!units.length) return null;
    const reported = units.filter((r) => r.status).length;
    const asked = units.filter((r) => !idle(r, pressed)).length;
    return h("section", { class: "box", "aria-labelledby": `${id}-h`, "data-key": `group-${id}` },
      h("h2", { id: `${id}-h` }, asked ? `${title} · ${reported} of ${asked} reported` : `${title} · none in use`),
      h("div", { id, class: "rooms units-list" }, units.map((r) => card(r, r.id === pressed))));
  }).filter(Boolean);
  return groups.length ? h("div", { class: "units-row", "data-key": "units" }, groups) : null;
}

/** The evacuation's places in order, when it has moved: earlier ones struck, the last current. */
export function placesView(p) {
  const places = (p && p.places) || [];
  if (places.length < 2) return null;
  return h("ol", { id: "places-history", class: "places", "aria-label": "Where the evacuation has gone" },
    places.map((pl, i) => {
      const next = places[i + 1];
      if (!next) return h("li", { class: "now" }, `Now: ${pl.name} · since ${clock(pl.at)}`);
      const why = next.reason ? `: ${next.reason}` : "";
      return h("li", { class: "was" }, h("s", null, pl.name), ` · from ${clock(pl.at)}, left ${clock(next.at)}${why}`);
    }));
}
