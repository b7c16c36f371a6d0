// The floor plan: one schematic per building and floor, drawn from the site file. Rooms with
// coordinates (or a polygon) are drawn where they are; without them, a tidy grid by zone.
import { h } from "./dom.js";
import { STATUS } from "./status.js";

const CELL_W = 120, CELL_H = 72, GAP = 8, COLS = 6, LABEL_H = 26;

function floorsOf(rooms) {
  const floors = new Map();
  for (const room of rooms) {
    const key = `${room.building || "Site"}|${room.floor ?? 1}`;
    if (!floors.has(key)) floors.set(key, { building: room.building || "Site", floor: room.floor ?? 1, rooms: [] });
    floors.get(key).rooms.push(room);
  }
  return [...floors.values()].sort((a, b) => a.building.localeCompare(b.building) || a.floor - b.floor);
}

/** Each room's box or polygon on a floor: from the plan where it has one, else by zone. */
export function layout(rooms, plan, scale = 1) {
  const shapes = new Map();
  const placed = rooms.filter((r) => plan && plan[r.id]);
  for (const room of placed) {
    const g = plan[room.id];
    const points = g.points || [[g.x, g.y], [g.x + g.w, g.y], [g.x + g.w, g.y + g.h], [g.x, g.y + g.h]];
    shapes.set(room.id, { points });
  }
  let top = 0;
  if (placed.length) {
    const all = [...shapes.values()].flatMap((s) => s.points);
    const [minX, minY] = [Math.min(...all.map((p) => p[0])), Math.min(...all.map((p) => p[1]))];
    const [maxX, maxY] = [Math.max(...all.map((p) => p[0])), Math.max(...all.map((p) => p[1]))];
    for (const s of shapes.values()) s.points = s.points.map(([x, y]) => [(x - minX) * scale, (y - minY) * scale]);
    top = (maxY - minY) * scale + GAP * 2;
  }
  const zones = new Map();
  for (const room of rooms.filter((r) => !shapes.has(r.id))) {
    const zone = room.zone || "";
    if (!zones.has(zone)) zones.set(zone, []);
    zones.get(zone).push(room);
  }
  const labels = [];
  for (const [zone, members] of [...zones.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    labels.push({ text: zone ? `${zone} zone` : "other rooms", x: 0, y: top + 18 });
    top += LABEL_H;
    members.forEach((room, i) => {
      const x = (i % COLS) * (CELL_W + GAP), y = top + Math.floor(i / COLS) * (CELL_H + GAP);
      shapes.set(room.id, { points: [[x, y], [x + CELL_W, y], [x + CELL_W, y + CELL_H], [x, y + CELL_H]] });
    });
    top += Math.ceil(members.length / COLS) * (CELL_H + GAP) + GAP;
  }
  return { shapes, labels, drawn: placed.length > 0 };
}

function box(points) {
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  return { x: Math.min(...xs), y: Math.min(...ys), w: Math.max(...xs) - Math.min(...xs), h: Math.max(...ys) - Math.min(...ys) };
}

/** A font size at which `text` fits `width` (a character is about 0.62 em wide). */
function fit(text, size, width) {
  return Math.min(size, (width * 0.92) / (text.length * 0.62));
}

function roomShape(room, shape, pressed) {
  const status = STATUS[room.status || "none"] || STATUS.none;
  const b = box(shape.points);
  const cx = b.x + b.w / 2, size = Math.max(9, Math.min(22, b.h / 3.6, b.w / 5.6));
  const a = room.accountability || {};
  const label = `${room.id} ${room.name}: ${status.word}${pressed ? ", alert raised here" : ""}`;
  const said = pressed && !room.status ? "▲ ALERT" : `${status.glyph} ${status.short}`;
  return h("g", {
    class: `room s-${room.status || "none"}${pressed ? " pressed" : ""}`, "data-room": room.id,
    "data-status": room.status || "none", "data-key": `plan-${room.id}`, tabindex: "0",
    role: "button", "aria-label": label,
  },
  h("title", null, label),
  h("polygon", { points: shape.points.map((p) => p.join(",")).join(" "), class: "shape" }),
  h("text", { x: cx, y: b.y + b.h * 0.34, "text-anchor": "middle", class: "rid", "font-size": fit(room.id, size, b.w) }, room.id),
  h("text", { x: cx, y: b.y + b.h * 0.62, "text-anchor": "middle", class: "rstat", "font-size": fit(said, size * 0.85, b.w) },
    said),
  a.total ? h("text", { x: cx, y: b.y + b.h * 0.86, "text-anchor": "middle", class: "rcount", "font-size": size * 0.75 },
    `${a.total - (a.unknown || 0) - (a.missing || 0)}/${a.total}`) : null);
}

/** Plan units per drawing unit: one for the whole site, so a metre is drawn the same on every
 * floor; the widest drawn floor spans twice a zone grid, big enough to read a classroom. */
function scaleOf(floors, plan) {
  let widest = 0;
  for (const f of floors) {
    const xs = f.rooms.filter((r) => plan && plan[r.id]).flatMap((r) => {
      const g = plan[r.id];
      return g.points ? g.points.map((p) => p[0]) : [g.x, g.x + g.w];
    });
    if (xs.length) widest = Math.max(widest, Math.max(...xs) - Math.min(...xs));
  }
  return widest ? (2 * COLS * (CELL_W + GAP)) / widest : 1;
}

/** The plan as one SVG per building and floor (virtual nodes). */
export function planView(rooms, plan, pressedRoom) {
  const floors = floorsOf(rooms);
  const scale = scaleOf(floors, plan);
  return floors.map((f) => {
    const { shapes, labels, drawn } = layout(f.rooms, plan, scale);
    const all = [...shapes.values()].flatMap((s) => s.points);
    // One width for every floor, so rooms of the same size are drawn the same size.
    const w = Math.max(...all.map((p) => p[0]), COLS * (CELL_W + GAP) - GAP) + GAP, hgt = Math.max(...all.map((p) => p[1]), CELL_H) + GAP;
    const title = `Building ${f.building}, floor ${f.floor}`;
    const wide = drawn && w > COLS * (CELL_W + GAP) * 1.3;
    return h("figure", { class: wide ? "floor drawn" : "floor" },
      h("figcaption", null, title),
      h("svg", { viewBox: `-4 -4 ${w + 8} ${hgt + 8}`, role: "group", "aria-label": title },
      labels.map((l) => h("text", { x: l.x, y: l.y, class: "zone" }, l.text)),
      f.rooms.map((room) => roomShape(room, shapes.get(room.id), room.id === pressedRoom))));
  });
}
