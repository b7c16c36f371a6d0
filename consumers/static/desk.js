// The reunification desk: one page per SRM role (greeter, checker, reunifier, exceptions), read
// from the desk document every 2 s and after every action, acting through the same HTTP API as
// any client. The token lives in the URL fragment (`#token=…`) or sessionStorage only; the
// incident is the site board's current one unless `#incident=…` names another.
import { h, mount } from "./dom.js";
import { outcome, post, uuid } from "./actions.js";
import { chosen, flagWords, found, search } from "./desk_forms.js";
import { approved, cases, checkEntry, checkQueue, modebar, queue, released, studentCard, summary } from "./desk_view.js";

const $ = (id) => document.getElementById(id);
const site = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const params = new URLSearchParams(location.hash.slice(1));
const TABS = ["greeter", "checker", "reunifier", "exceptions"];
const ROLES = ["staff", "commander"];  // redact.ROSTER_ROLES: who may read guardians and contacts
const S = {
  token: params.get("token") || sessionStorage.getItem("muster-token") || "",
  incident: params.get("incident") || null, tab: TABS.includes(params.get("tab")) ? params.get("tab") : "greeter",
  role: null, doc: null, fetchedAt: 0, okAt: 0, byId: new Map(),
  picked: { arrive: [], case: [] }, card: null, problems: {}, pending: {}, loading: false,
};
window.muster = { get doc() { return S.doc; } };  // for the browser tests: what the page last read

class Refused extends Error {}

async function get(path) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${S.token}`, Accept: "application/json" }, cache: "no-store" });
  if (resp.status === 401) throw new Refused("The token is not valid any more: open the desk with a new one.");
  if (resp.status === 403) throw new Refused("This token may not use the desk: a staff or commander token of this site is needed.");
  if (!resp.ok) {
    const body = await resp.json().catch(() => null);
    const err = new Error(body?.error?.message || `The server answered ${resp.status}.`);
    err.status = resp.status;
    throw err;
  }
  return resp.json();
}

function problem(text) {
  $("problem").textContent = text || "";
  $("problem").hidden = !text;
}

async function findIncident() {
  const board = await get(`/v1/sites/${encodeURIComponent(site)}/board`);
  return board.incident ? board.incident.id : null;
}

async function load() {
  if (S.loading) return;
  S.loading = true;
  try {
    if (!S.incident) S.incident = await findIncident();
    if (!S.incident) { problem("No incident is open at this site: the desk opens with one."); return; }
    let doc = await get(`/v1/incidents/${encodeURIComponent(S.incident)}/reunification`);
    // Not pinned by the link: once this incident ends, the desk follows the site's next one.
    if (doc.ended && !params.get("incident")) {
      const next = await findIncident();
      if (next && next !== S.incident) {
        S.incident = next;
        doc = await get(`/v1/incidents/${encodeURIComponent(S.incident)}/reunification`);
      }
    }
    S.doc = doc; S.fetchedAt = S.okAt = Date.now();
    S.byId = new Map(doc.students.map((s) => [s.id, s]));
    problem("");
    draw();
  } catch (err) {
    problem(err.message);
    if (err instanceof Refused) { clearInterval(S.timer); askToken(); }
  } finally {
    S.loading = false;
    freshness();
  }
}

function freshness() {
  const conn = $("conn"), age = Math.round((Date.now() - S.okAt) / 1000);
  const fresh = S.okAt && age < 6;
  conn.className = `conn ${fresh ? "live" : "down"}`;
  conn.textContent = fresh ? "up to date" : S.okAt ? `not updated for ${age} s` : "connecting…";
}

// --- drawing -----------------------------------------------------------------------------------

function draw() {
  const doc = S.doc;
  if (!doc) return;
  const since = (Date.now() - S.fetchedAt) / 1000;
  $("main").hidden = false;
  $("school").textContent = doc.school;
  document.title = `Reunification desk — ${doc.school}`;
  document.body.dataset.mode = doc.mode;
  $("modebar").hidden = false;
  $("modebar").className = `modebar m-${doc.mode}`;
  mount($("modebar"), modebar(doc));
  mount($("summary"), summary(doc));
  for (const tab of TABS) {
    $(tab).hidden = tab !== S.tab;
    $(`tab-${tab}`).setAttribute("aria-selected", String(tab === S.tab));
    $(`tab-${tab}`).tabIndex = tab === S.tab ? 0 : -1;
  }
  const students = doc.students;
  mount($("queue"), queue(doc, S.byId, since));
  mount($("arrive-found"), found(search(students, $("arrive-search").value, S.picked.arrive), "arrive", $("arrive-search").value));
  mount($("arrive-chosen"), chosen(S.picked.arrive, S.byId, "arrive"));
  mount($("check-queue"), checkQueue(doc, S.byId, since, S.card));
  mount($("check-entry"), checkEntry(doc, S.byId, S.card, S.problems[S.card]));
  const query = $("check-search").value;
  const hits = search(students, query, [], 5).map((s) => studentCard(s, null, true));
  mount($("check-found"), query.trim() && !hits.length ? h("p", { class: "dim" }, "No student matches.") : hits);
  mount($("approved"), approved(doc, S.byId, since, $("reunify-search").value));
  mount($("released"), released(doc));
  mount($("case-found"), S.picked.case.length ? [] : found(search(students, $("case-search").value), "case", $("case-search").value));
  mount($("case-chosen"), chosen(S.picked.case, S.byId, "case"));
  mount($("cases"), cases(doc, S.byId, S.role));
  const kind = $("case-kind").value;
  $("case-hospital-label").hidden = kind !== "hospital";
  $("case-adult-label").hidden = kind !== "unlisted_adult";
}

// --- acting ------------------------------------------------------------------------------------

function toast(text, bad = false) {
  const el = $("toast");
  el.textContent = text;
  el.className = `toast show${bad ? " bad" : ""}`;
  clearTimeout(S.toastTimer);
  S.toastTimer = setTimeout(() => { el.className = "toast"; }, 6000);
}

/** One action, one client_event_id however often it is retried; the desk is read again after. */
async function act(key, path, body, said) {
  if (S.pending[key]?.busy) return null;
  const id = S.pending[key]?.id || uuid();
  S.pending[key] = { id, busy: true };
  const result = await post(`/v1/incidents/${encodeURIComponent(S.incident)}/reunification/${path}`,
    { ...body, client_event_id: id }, S.token);
  S.pending[key] = result.ok || result.status === 409 || result.status === 400 ? undefined : { id, busy: false };
  toast(result.ok ? said : outcome(result), !result.ok);
  await load();
  return result;
}

async function arrive(ev) {
  ev.preventDefault();
  const guardian = $("arrive-guardian").value.trim(), card = $("arrive-card").value.trim();
  if (!S.picked.arrive.length) { toast("Name at least one student: type a name and tap it.", true); return; }
  const students = [...S.picked.arrive];
  const result = await act(`arrive-${card}`, "arrivals", { guardian, card, students }, `Card ${card}: ${guardian} is in the queue`);
  if (result?.ok) {
    $("arrive-form").reset(); S.picked.arrive = []; draw();
    $("arrive-guardian").focus();
  }
}

async function approve(form) {
  const q = S.doc.queue.find((x) => x.card === S.card);
  if (!q) return;
  const body = { guardian: q.guardian, id_verified: form.querySelector("#check-verified").checked,
    students: q.students.map((s) => s.id), card: q.card };
  const result = await act(`check-${q.card}`, "guardians", body, `Card ${q.card} approved: the reunifiers fetch the students`);
  if (result && result.status === 409) {
    S.problems[q.card] = result.doc?.error?.message || "flagged";
    toast(flagWords([S.problems[q.card]]), true);
    draw();
  }
}

async function openCase(ev) {
  ev.preventDefault();
  const [person] = S.picked.case;
  if (!person) { toast("Choose the student first: type a name and tap it.", true); return; }
  const kind = $("case-kind").value;
  const body = { person_id: person, kind, assigned_to: $("case-assigned").value.trim(), assigned_role: $("case-role").value,
    hospital: kind === "hospital" ? $("case-hospital").value.trim() : "",
    adult: kind === "unlisted_adult" ? $("case-adult").value.trim() : "",
    note: $("case-note").value.trim() || null };
  const result = await act(`case-${person}-${kind}`, "exceptions", body, `Case opened for ${S.byId.get(person)?.name || person}`);
  if (result?.ok) { $("case-form").reset(); S.picked.case = []; draw(); }
}

async function onClick(ev) {
  const el = ev.target.closest("[data-act]");
  if (!el || el.tagName === "FORM") return;
  const d = el.dataset;
  switch (d.act) {
    case "pick":
      S.picked[d.target] = d.target === "case" ? [d.id] : [...S.picked[d.target], d.id];
      $(`${d.target}-search`).value = ""; draw(); $(`${d.target}-search`).focus(); break;
    case "unpick":
      S.picked[d.target] = S.picked[d.target].filter((x) => x !== d.id); draw(); break;
    case "select-card":
      S.card = d.card; draw(); break;
    case "checkin":
      await act(`checkin-${d.person}`, "checkin", { person_id: d.person },
        `${S.byId.get(d.person)?.name} is checked in at the assembly area`); break;
    case "fetch":
      await act(`fetch-${d.person}`, "fetch", { person_id: d.person, guardian: d.guardian, card: d.card },
        `${S.byId.get(d.person)?.name} fetched: ask for consent`); break;
    case "release":
      await act(`release-${d.person}`, "release", { person_id: d.person, guardian: d.guardian, student_consents: true, card: d.card },
        `${S.byId.get(d.person)?.name} released to ${d.guardian}`); break;
    case "refuse":
      toast(`Do not release ${S.byId.get(d.person)?.name}: call the administrator, and open a case on the exceptions tab.`, true); break;
    default:
  }
}

async function onSubmit(ev) {
  const form = ev.target;
  if (form.dataset.act === "approve") { ev.preventDefault(); await approve(form); }
  if (form.dataset.act === "resolve") {
    ev.preventDefault();
    const body = { case_id: form.dataset.case, outcome: form.elements.outcome.value.trim(),
      released_to: form.elements.released_to.value || null,
      id_verified: form.elements.id_verified.checked };
    await act(`resolve-${form.dataset.case}`, "exceptions/resolve", body, `Case ${form.dataset.case} resolved`);
  }
}

function choose(tab) {
  S.tab = tab;
  history.replaceState(null, "", `${location.pathname}#tab=${tab}${S.incident && params.get("incident") ? `&incident=${S.incident}` : ""}`);
  draw();
  $(`tab-${tab}`).focus();
}

function askToken() {
  $("login").hidden = false;
  $("main").hidden = true;
  $("login").onsubmit = (ev) => {
    ev.preventDefault();
    S.token = $("token").value.trim();
    sessionStorage.setItem("muster-token", S.token);
    location.reload();
  };
}

/** Who the token is; false when it may not use the desk (guardians' contacts are need to know). */
async function whoami() {
  try {
    const me = await get("/v1/me");
    S.role = me.role;
    $("role").textContent = `${me.name || me.role} (${me.role})`;
  } catch (err) {
    if (err instanceof Refused) { problem(err.message); askToken(); return false; }
    return true;  // offline: the desk document says what is wrong
  }
  if (ROLES.includes(S.role)) return true;
  problem("This token may not use the desk: a staff or commander token of this site is needed.");
  return false;
}

document.addEventListener("DOMContentLoaded", async () => {
  if (!S.token) { askToken(); return; }
  sessionStorage.setItem("muster-token", S.token);
  history.replaceState(null, "", `${location.pathname}#tab=${S.tab}${S.incident ? `&incident=${S.incident}` : ""}`);
  for (const tab of TABS) $(`tab-${tab}`).onclick = () => choose(tab);
  document.querySelector(".tabs").addEventListener("keydown", (ev) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
    if (step) choose(TABS[(TABS.indexOf(S.tab) + step + TABS.length) % TABS.length]);
  });
  $("main").addEventListener("click", onClick);
  $("main").addEventListener("submit", onSubmit);
  $("arrive-form").onsubmit = arrive;
  $("case-form").onsubmit = openCase;
  for (const id of ["arrive-search", "check-search", "case-search", "reunify-search"]) $(id).addEventListener("input", draw);
  $("case-kind").onchange = draw;
  if (!await whoami()) return;
  await load();
  S.timer = setInterval(load, 2000);
  setInterval(() => { draw(); freshness(); }, 1000);  // the queue's waits tick between reads
});
