// What the desk's forms need besides drawing: finding a student by a few letters of a name or an
// id, the words a flag is said in at the desk, and how a wait or a time reads.
import { h } from "./dom.js";

const fold = (text) => (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();

/** The students whose every typed word starts a word of their name, or whose id holds the
 * query; at most `limit`, never one of `skip`. */
export function search(students, query, skip = [], limit = 8) {
  const q = fold(query).trim();
  if (!q) return [];
  const words = q.split(/\s+/);
  return students.filter((s) => {
    if (skip.includes(s.id)) return false;
    if (fold(s.id).includes(q)) return true;
    const parts = fold(s.name).split(/[\s-]+/);
    return words.every((w) => parts.some((p) => p.startsWith(w)));
  }).slice(0, limit);
}

/** An adult's name as names.py compares them (NFKC, case, runs of spaces): "MARK  JONES" is the
 * "Mark Jones" a custody order names, so the desk warns as the server will refuse. Upper then
 * lower case is Python's casefold for names: "Strauß" is "STRAUSS", a final sigma any sigma. */
export const folded = (name) => (name || "").normalize("NFKC").toUpperCase().toLowerCase()
  .split(/\s+/).filter(Boolean).join(" ");
export const among = (name, names) => names.some((n) => folded(n) === folded(name));

/** The search results as buttons (`data-act="pick"`), each with what tells two students apart. */
export function found(results, target, query) {
  if (!query.trim()) return [];
  if (!results.length) return [h("li", { class: "dim", "data-key": "none" }, "No student matches.")];
  return results.map((s) => h("li", { "data-key": s.id },
    h("button", { type: "button", class: "pick", "data-act": "pick", "data-target": target, "data-id": s.id },
      h("b", null, s.name), h("span", { class: "dim" }, ` ${s.id}${s.grade ? ` · grade ${s.grade}` : ""}${s.room ? ` · ${s.room}` : ""}`),
      h("span", { class: `state st-${s.state}` }, STATE[s.state] || s.state))));
}

/** The students chosen so far, each with a button that takes it back. */
export function chosen(ids, byId, target) {
  return ids.map((id) => h("li", { "data-key": id }, h("span", null, byId.get(id)?.name || id),
    h("button", { type: "button", class: "unpick", "data-act": "unpick", "data-target": target, "data-id": id,
      "aria-label": `Remove ${byId.get(id)?.name || id}` }, "✕")));
}

// A student's place in the reunification, in a word or two.
export const STATE = {
  not_checked_in: "not checked in", waiting: "waiting", requested: "guardian here",
  fetched: "fetched", released: "released", exception: "exceptions track",
};
export const KIND = {
  injured: "Injured", hospital: "Transported to hospital", missing: "Missing",
  unlisted_adult: "Unlisted adult",
};

/** The flag as a checker must act on it: the first line says what to do. */
export function flagWords(flags) {
  const text = flags.join("; ");
  if (/custody restriction/i.test(text)) return "Custody restriction: do not release; call the administrator";
  if (/not listed/i.test(text)) return "Not a listed guardian: do not release; call the administrator";
  if (/id not verified/i.test(text)) return "Photo ID not verified: check it, then approve again";
  return `Not approved: ${text}`;
}

/** Seconds as minutes:seconds (hours when it comes to that). */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** An ISO time as the desk's clock on the wall says it. */
export function time(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false })
    .format(new Date(iso));
}

/** Whether a queue entry is still waiting for someone: its wait ticks until its card is done. */
export function open(entry, byId) {
  return entry.students.some((s) => !["released", "exception"].includes(byId.get(s.id)?.state));
}

/** The entry's wait now: the server's figure when fetched, plus the time since while it ticks. */
export function waited(entry, byId, sinceFetch) {
  return entry.wait_s + (open(entry, byId) ? sinceFetch : 0);
}
