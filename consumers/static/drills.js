// The drill log and the state requirements of one site for a school year, read from the API with
// the bearer token (from the URL fragment, `#token=…`, or typed in; kept in sessionStorage only).
// Every text is set as text (dom.js), and every status is said in a word and a glyph.
import { h, mount } from "./dom.js";

const $ = (id) => document.getElementById(id);
const site = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const params = new URLSearchParams(location.hash.slice(1));
const S = { token: params.get("token") || sessionStorage.getItem("muster-token") || "", zone: "UTC" };
const STATUS = {
  overdue: ["!", "Overdue"], due: ["…", "Due"], upcoming: ["○", "Upcoming"], done: ["✓", "Done"],
  undocumented: ["✎", "Undocumented"],
};
const ORDER = ["overdue", "due", "upcoming", "done"];

function schoolYear(day) {
  const start = day.getMonth() >= 6 ? day.getFullYear() : day.getFullYear() - 1;
  return `${start}-${String((start + 1) % 100).padStart(2, "0")}`;
}

function years() {
  const now = schoolYear(new Date());
  const first = Number(now.slice(0, 4));
  return [first + 1, first, first - 1, first - 2, first - 3, first - 4].map(
    (y) => `${y}-${String((y + 1) % 100).padStart(2, "0")}`);
}

async function get(path, accept = "application/json") {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${S.token}`, Accept: accept }, cache: "no-store" });
  if (resp.status === 401) throw new Error("The token is not valid any more: open the page with a new one.");
  if (resp.status === 403) throw new Error("This token may not read drills: a commander's or an administrator's token of this site is needed.");
  if (!resp.ok) {
    const body = await resp.json().catch(() => null);
    throw new Error(body?.error?.message || `The server answered ${resp.status}.`);
  }
  return accept === "text/csv" ? resp.text() : resp.json();
}

// Times in the school's own zone, as the state's form asks for them.
const fmt = (opts) => new Intl.DateTimeFormat("en-GB", { timeZone: S.zone, ...opts });
const day = (iso) => (iso ? fmt({ weekday: "short", day: "numeric", month: "short", year: "numeric" }).format(new Date(iso)) : "");
const time = (iso) => (iso ? fmt({ hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }).format(new Date(iso)) : "");
const plainDay = (d) => new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" })
  .format(new Date(`${d}T00:00:00Z`));
const lastDay = (d) => { const t = new Date(`${d}T00:00:00Z`); t.setUTCDate(t.getUTCDate() - 1); return t.toISOString().slice(0, 10); };

function offset(seconds, iso) {
  if (seconds == null) return h("span", { class: "bad" }, "✗ not reached");
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  return [h("b", null, `+${m}:${String(s).padStart(2, "0")}`), ` (${time(iso)})`];
}

function people(p) {
  const parts = [["student", "students"], ["staff", "staff"], ["visitor", "visitors"]]
    .filter(([k]) => p[k]).map(([k, word]) => `${p[k]} ${word}`);
  return `${p.total || 0}${parts.length ? ` (${parts.join(", ")})` : ""}`;
}

function methods(list) {
  if (!list.length) return h("span", { class: "dim" }, "none sent");
  return h("ul", { class: "methods" }, list.map((m) => h("li", null, `${m.channel} (${m.method}) `,
    m.worked ? h("span", { class: "ok" }, "✓ worked") : h("span", { class: "bad" }, "✗ failed"),
    m.failed && m.worked ? h("span", { class: "dim" }, ` · ${m.failed} failed`) : null)));
}

function kind(r) {
  const mode = { live: "LIVE ", tabletop: "TABLETOP " }[r.mode] || "";
  const state = r.status === "cancelled" ? " — cancelled" : r.status === "open" ? " — in progress" : "";
  return `${mode}${r.kind.replaceAll("_", " ")}${state}`;
}

function logRow(r) {
  // One child per cell, so a phone's card puts the label beside the whole value.
  const cell = (label, cls, ...content) => h("td", { "data-label": label, class: cls }, h("div", null, ...content));
  return h("tr", { "data-key": r.incident_id, class: `m-${r.mode} st-${r.status}` },
    cell("Kind", null, kind(r), r.notes.length ? h("div", { class: "notes" },
      r.notes.map((n) => n.replace(/^cancelled: /, "")).join("; ")) : null),
    cell("Date", null, day(r.started_at)),
    cell("Start", "num", time(r.started_at)),
    cell("Protective response", "num", offset(r.protective_s, r.protective_at)),
    cell("Accounted for", "num", offset(r.accounted_s, r.accounted_at)),
    cell("End", "num", r.ended_at ? time(r.ended_at) : "open"),
    cell("Participants", null, people(r.participants)),
    cell("Notifications", null, methods(r.notifications)),
    cell("Signed off", null, r.signed_off_by ? h("span", { class: "ok" }, `✓ ${r.signed_off_by}, ${day(r.signed_off_at)}`)
      : r.status === "cancelled" || r.mode === "tabletop" ? h("span", null, "— no record needed")
      : h("span", { class: "unsigned" }, "✎ not signed")));
}

function drawLog(log) {
  if (!log.rows.length) { mount($("log"), h("p", { class: "dim" }, `No drills in ${log.year}.`)); return; }
  const heads = ["Kind", "Date", "Start", "Protective response", "Accounted for", "End", "Participants", "Notifications", "Signed off"];
  mount($("log"), h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Drill log table" }, h("table", null,
    h("caption", { class: "dim" }, `${log.rows.length} drills and incidents, times in ${log.timezone}`),
    h("thead", null, h("tr", null, heads.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", null, log.rows.map(logRow)))));
}

function when(item) {
  const span = `${plainDay(item.opens)} – ${plainDay(lastDay(item.closes))}`;
  const said = { done: `done ${plainDay(item.done_on || item.opens)}`, due: `due by ${plainDay(lastDay(item.closes))}`,
    overdue: `window closed ${plainDay(lastDay(item.closes))} unmet`, upcoming: `opens ${plainDay(item.opens)}` }[item.status];
  return `${item.held} of ${item.count} held · ${said} · ${span}`;
}

function drawCompliance(view) {
  const named = view.state ? `Held to the ${view.state} state table` : "No state table";
  $("held-to").textContent = `${named}, as of ${plainDay(view.on)}; records are due within ${view.documented_within_days} days.`;
  mount($("counts"), [...ORDER, "undocumented"].map((s) => h("li", { class: `s-${s}`, "data-key": s },
    `${STATUS[s][0]} ${view.counts[s] || 0} ${STATUS[s][1].toLowerCase()}`)));
  const items = [...view.items].sort((a, b) => ORDER.indexOf(a.status) - ORDER.indexOf(b.status));
  mount($("requirements"), items.length ? h("ul", { class: "reqs" }, items.map((i) =>
    h("li", { class: `req s-${i.status}`, "data-key": i.requirement },
      h("span", { class: `badge s-${i.status}` }, `${STATUS[i.status][0]} ${STATUS[i.status][1]}`),
      h("span", { class: "what" }, i.label),
      h("span", { class: "when" }, when(i)))))
    : h("p", { class: "dim" }, "The site file names no [drills] requirements."));
  mount($("undocumented"), view.undocumented.length ? h("ul", { class: "undoc" }, view.undocumented.map((u) =>
    h("li", { "data-key": u.incident_id }, h("b", null, "✎ Undocumented: "),
      `${u.kind.replaceAll("_", " ")} drill held ${plainDay(u.held_on)}, not signed off by ${plainDay(u.deadline)}`)))
    : h("p", { class: "dim" }, "✓ Every drill past its deadline is signed off."));
}

async function load() {
  const year = $("year").value;
  const base = `/v1/sites/${encodeURIComponent(site)}/drills`;
  try {
    const on = $("on").value ? `&on=${$("on").value}` : "";  // empty: today at the school
    const [log, view] = await Promise.all([get(`${base}?year=${year}`), get(`${base}/compliance?year=${year}${on}`)]);
    S.zone = log.timezone;
    $("school").textContent = log.school;
    document.title = `Drills — ${log.school}`;
    $("problem").hidden = true;
    drawLog(log);
    drawCompliance(view);
  } catch (err) {
    $("problem").textContent = err.message;
    $("problem").hidden = false;
  }
}

async function downloadCsv() {
  const year = $("year").value;
  try {
    const text = await get(`/v1/sites/${encodeURIComponent(site)}/drills?year=${year}`, "text/csv");
    const el = document.createElement("a");
    el.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    el.download = `drills-${site}-${year}.csv`;
    el.click();
    setTimeout(() => URL.revokeObjectURL(el.href), 10000);
  } catch (err) {
    $("problem").textContent = err.message;
    $("problem").hidden = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const chosen = params.get("year") || schoolYear(new Date());
  const offered = years().includes(chosen) ? years() : [chosen, ...years()];
  mount($("year"), offered.map((y) => h("option", { value: y }, y)));
  $("year").value = chosen;
  $("year").onchange = load;
  if (params.get("on")) $("on").value = params.get("on");
  $("on").onchange = load;
  $("csv").onclick = downloadCsv;
  if (!S.token) {
    $("login").hidden = false;
    $("main").hidden = true;
    $("login").onsubmit = (ev) => { ev.preventDefault(); S.token = $("token").value.trim(); sessionStorage.setItem("muster-token", S.token); location.reload(); };
    return;
  }
  sessionStorage.setItem("muster-token", S.token);
  history.replaceState(null, "", location.pathname);  // the token leaves the address bar
  load();
});
