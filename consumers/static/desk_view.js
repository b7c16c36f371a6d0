// The desk's views, drawn from the desk document (GET /v1/incidents/{id}/reunification) and the
// page's own choices; buttons say what they do in `data-act` and desk.js acts on them. Every
// state is said in words and a glyph as well as a colour.
import { h } from "./dom.js";
import { among, clock, flagWords, KIND, open, STATE, time, waited } from "./desk_forms.js";

const MODE = { live: "LIVE", drill: "DRILL — this is a drill", tabletop: "TABLETOP — an exercise", replay: "REPLAY" };

export function modebar(doc) {
  return [h("span", { class: "mode" }, MODE[doc.mode] || doc.mode.toUpperCase()),
    h("span", { class: "sitename" }, `Reunification · ${doc.school}`)];
}

export function summary(doc) {
  const c = doc.counts, p = doc.point;
  const point = p ? h("p", { class: "point", "data-key": "point" }, h("span", { class: "dim" }, "Reunification point: "),
    h("b", null, p.place), p.address ? ` — ${p.address}` : "")
    : h("p", { class: "point none", "data-key": "point" }, "No reunification point set yet: the commander sets it.");
  const gate = doc.accounting_complete ? h("p", { class: "ok", "data-key": "gate" }, "✓ Everyone is accounted for: releases may go ahead.")
    : doc.releases_open ? h("p", { class: "warn", "data-key": "gate" }, "! Opened early by the commander: releases go ahead before accounting is complete.")
      : h("p", { class: "warn", "data-key": "gate" }, "! Accounting is not complete: nobody is released until everyone is accounted for.");
  const count = (key, n, one, many) => h("li", { "data-key": key }, h("b", null, String(n)), ` ${n === 1 ? one : many}`);
  return [point, h("ul", { class: "counts", "data-key": "counts", "aria-label": "Counts" },
    count("students", c.students, "student", "students"), count("checked_in", c.checked_in, "checked in", "checked in"),
    count("guardians_waiting", c.guardians_waiting, "guardian waiting", "guardians waiting"),
    count("released", c.released, "released", "released"), count("exceptions", c.exceptions, "exception", "exceptions")), gate];
}

const ENTRY = { waiting: ["…", "Waiting for a checker"], approved: ["✓", "Approved"], flagged: ["✕", "Flagged"] };

/** Open entries oldest first, then those whose card is done. */
function ordered(queue, byId) {
  const by = (a, b) => Date.parse(a.arrived_at) - Date.parse(b.arrived_at);
  return [...queue.filter((q) => open(q, byId)).sort(by), ...queue.filter((q) => !open(q, byId)).sort(by)];
}

function names(entry) {
  return entry.students.map((s) => s.name).join(", ");
}

export function queue(doc, byId, since) {
  if (!doc.queue.length) return [h("li", { class: "dim", "data-key": "none" }, "Nobody is waiting.")];
  return ordered(doc.queue, byId).map((q) => {
    const done = !open(q, byId);
    const [glyph, word] = done ? ["✓", "Done"] : ENTRY[q.state] || ["?", q.state];
    return h("li", { class: `entry e-${done ? "done" : q.state}`, "data-key": q.card || q.guardian },
      h("span", { class: "cardno" }, `Card ${q.card || "—"}`),
      h("span", { class: "who" }, h("b", null, q.guardian), h("span", { class: "dim" }, ` for ${names(q)}`)),
      h("span", { class: "wait", title: `arrived ${time(q.arrived_at)}` }, `${done ? "waited" : "wait"} ${clock(waited(q, byId, since))}`),
      h("span", { class: `badge e-${done ? "done" : q.state}` }, `${glyph} ${word}`));
  });
}

function contacts(student) {
  if (!student.contacts.length) return h("p", { class: "dim" }, "No contacts on file.");
  return h("table", { class: "contacts" }, h("thead", null, h("tr", null,
    ["Name", "Relationship", "Phone", "E-mail"].map((x) => h("th", { scope: "col" }, x)))),
  h("tbody", null, student.contacts.map((c) => h("tr", { class: among(c.name, student.restricted) ? "restricted" : null },
    h("td", null, c.name), h("td", null, c.relationship), h("td", null, c.phone), h("td", null, c.email)))));
}

/** One student as a checker verifies an adult against them: listed guardians, contacts, and any
 * custody restriction in red, the named adult's match said first. */
export function studentCard(student, guardian = null, searched = false) {
  const restricted = guardian && among(guardian, student.restricted);
  const listed = guardian && among(guardian, student.guardians);
  return h("article", { class: `student${restricted ? " danger" : ""}`, "data-key": student.id },
    h("h3", null, student.name, h("span", { class: "dim" }, ` ${student.id}${student.grade ? ` · grade ${student.grade}` : ""}${student.room ? ` · ${student.room}` : ""}`),
      h("span", { class: `state st-${student.state}` }, STATE[student.state] || student.state)),
    guardian ? h("p", { class: restricted ? "verdict bad" : listed ? "verdict ok" : "verdict warn" },
      restricted ? `✕ ${guardian} is RESTRICTED for ${student.name}: do not release; call the administrator`
        : listed ? `✓ ${guardian} is a listed guardian` : `! ${guardian} is not a listed guardian`) : null,
    h("p", null, h("span", { class: "dim" }, "Listed guardians: "), student.guardians.join(", ") || "none"),
    student.restricted.length ? h("p", { class: "restriction" }, `✕ Custody restriction — never release to: ${student.restricted.join(", ")}`) : null,
    contacts(student),
    searched && student.state === "not_checked_in" ? h("div", { class: "buttons" }, h("button", {
      type: "button", class: "primary", "data-act": "checkin", "data-person": student.id }, "Check in at the assembly area")) : null,
    student.released_to ? h("p", { class: "ok" }, `✓ Released to ${student.released_to} at ${time(student.released_at)}`) : null);
}

export function checkQueue(doc, byId, since, selected) {
  const waiting = ordered(doc.queue, byId).filter((q) => q.state !== "approved" && open(q, byId));
  if (!waiting.length) return [h("li", { class: "dim", "data-key": "none" }, "No guardian waits for a check.")];
  return waiting.map((q) => h("li", { "data-key": q.card || q.guardian },
    h("button", { type: "button", class: `pickcard e-${q.state}`, "data-act": "select-card", "data-card": q.card,
      "aria-pressed": String(q.card === selected) },
    h("span", { class: "cardno" }, `Card ${q.card || "—"}`), h("b", null, q.guardian),
    h("span", { class: "dim" }, ` for ${names(q)}`),
    h("span", { class: "wait" }, `wait ${clock(waited(q, byId, since))}`),
    q.state === "flagged" ? h("span", { class: "badge e-flagged" }, "✕ Flagged") : null)));
}

/** The chosen card's check: every student of it against the adult, ID verified, Approve. */
export function checkEntry(doc, byId, card, problem) {
  const q = doc.queue.find((x) => x.card === card);
  if (!q) return [h("p", { class: "dim", "data-key": "none" }, "Choose a guardian above to check them.")];
  if (q.state === "approved") {
    return [h("p", { class: "ok", "data-key": `done-${card}` }, `✓ Card ${card}: ${q.guardian} is approved; the reunifiers fetch ${names(q)}.`)];
  }
  const flags = q.flags.length ? q.flags : problem ? [problem] : [];
  return [h("form", { class: "check", "data-act": "approve", "data-key": `card-${card}` },
    h("h3", null, `Card ${card}: ${q.guardian}`),
    flags.length ? h("div", { class: "flag", role: "alert" }, h("b", null, `✕ ${flagWords(flags)}`),
      h("ul", null, flags.map((f) => h("li", null, f)))) : null,
    q.students.map((s) => (byId.get(s.id) ? studentCard(byId.get(s.id), q.guardian) : h("p", null, s.name))),
    q.state === "flagged" ? null : [
      h("label", { class: "verify" }, h("input", { type: "checkbox", id: "check-verified", required: true }),
        " ID verified: the photo ID shows this name"),
      h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Approve"))])];
}

function reunifyStudent(student, q) {
  const key = student.id;
  const args = { "data-person": student.id, "data-guardian": q.guardian, "data-card": q.card };
  const row = (...children) => h("li", { class: `rstudent st-${student.state}`, "data-key": key },
    h("b", null, student.name), h("span", { class: "dim" }, ` ${student.id}${student.room ? ` · ${student.room}` : ""}`), ...children);
  switch (student.state) {
    case "requested":
    case "waiting":
      return row(h("div", { class: "buttons" }, h("button", { type: "button", class: "primary", "data-act": "fetch", ...args }, `Fetch ${student.name}`)));
    case "fetched":
      return row(h("p", { class: "consent" }, `Ask ${student.name}: “Are you comfortable leaving with ${q.guardian}?”`),
        h("div", { class: "buttons" },
          h("button", { type: "button", class: "primary go", "data-act": "release", ...args }, "Yes — release"),
          h("button", { type: "button", class: "danger", "data-act": "refuse", ...args }, "No")));
    case "released":
      return row(h("p", { class: "ok" }, `✓ Released to ${student.released_to} at ${time(student.released_at)}`));
    case "exception":
      return row(h("p", { class: "warn" }, "On the exceptions track: not released here."));
    default:
      return row(h("p", { class: "warn" }, "Not checked in at the assembly area yet."));
  }
}

/** Whether a card is the one asked for: its number, or a word of its adult's or students' names. */
function asked(q, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const said = [q.guardian, ...q.students.map((s) => s.name)].join(" ").toLowerCase().split(/[\s-]+/);
  return (q.card && q.card.startsWith(query.trim())) || words.every((w) => said.some((x) => x.startsWith(w)));
}

export function approved(doc, byId, since, query = "") {
  const all = ordered(doc.queue, byId).filter((q) => q.state === "approved");
  const cards = all.filter((q) => asked(q, query));
  if (!all.length) return [h("li", { class: "dim", "data-key": "none" }, "No approved card waits: the checkers approve guardians.")];
  if (!cards.length) return [h("li", { class: "dim", "data-key": "none" }, `No approved card matches “${query.trim()}”.`)];
  return cards.map((q) => h("li", { class: `acard${open(q, byId) ? "" : " done"}`, "data-key": q.card || q.guardian },
    h("h3", null, `Card ${q.card || "—"}: ${q.guardian}`, h("span", { class: "wait" }, ` wait ${clock(waited(q, byId, since))}`)),
    h("ul", { class: "rstudents" }, q.students.map((s) => (byId.get(s.id) ? reunifyStudent(byId.get(s.id), q) : null)))));
}

/** The latest releases, newest first: a card leaves the queue once its students have gone. */
export function released(doc, limit = 8) {
  const done = doc.students.filter((s) => s.released_at).sort((a, b) => Date.parse(b.released_at) - Date.parse(a.released_at));
  if (!done.length) return [h("li", { class: "dim", "data-key": "none" }, "Nobody released yet.")];
  return done.slice(0, limit).map((s) => h("li", { "data-key": s.id },
    h("span", { class: "wait" }, time(s.released_at)), ` ✓ ${s.name} → ${s.released_to}`, s.card ? h("span", { class: "dim" }, ` · card ${s.card}`) : null));
}

function resolveForm(x, student) {
  const options = (student?.guardians || []).filter((g) => !among(g, student.restricted));
  return h("form", { class: "resolve", "data-act": "resolve", "data-case": x.case_id },
    h("label", null, "Outcome ", h("input", { name: "outcome", required: true, maxlength: "2000", autocomplete: "off" })),
    h("label", null, "Released to ", h("select", { name: "released_to" }, h("option", { value: "" }, "— nobody (not released) —"),
      options.map((g) => h("option", { value: g }, g)))),
    h("label", { class: "verify" }, h("input", { type: "checkbox", name: "id_verified" }), " I have seen this adult's photo ID"),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Resolve case")));
}

export function cases(doc, byId, role) {
  if (!doc.exceptions.length) return [h("li", { class: "dim", "data-key": "none" }, "No case is open.")];
  return doc.exceptions.map((x) => h("li", { class: `case${x.resolved ? " resolved" : ""}`, "data-key": x.case_id },
    h("h3", null, `${x.resolved ? "✓" : "!"} ${x.name}`, h("span", { class: "dim" }, ` ${x.person_id} · case ${x.case_id}`)),
    h("p", null, h("b", null, KIND[x.kind] || x.kind), x.hospital ? `: ${x.hospital}` : "", x.adult ? `: ${x.adult}` : ""),
    h("p", null, `Assigned to ${x.assigned_to} (${x.assigned_role}) · opened ${time(x.opened_at)}`),
    x.resolved ? h("p", { class: "ok" }, `Resolved ${time(x.resolved_at)}: ${x.outcome}`,
      x.released_to ? ` — released to ${x.released_to}` : " — not released")
      : role === "commander" ? resolveForm(x, byId.get(x.person_id))
        : h("p", { class: "dim" }, "Open: the commander resolves it.")));
}
