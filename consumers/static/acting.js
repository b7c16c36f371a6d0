// Acting from the board, by role: each action is a dialog (or a tap) that sends one command
// through the HTTP API with one client_event_id, and says what came of it.
import { clear, h, mount } from "./dom.js";
import { outcome, post, uuid } from "./actions.js";
import { endAccess } from "./socket.js";
import { $, S, site } from "./state.js";
import { KINDS, said } from "./status.js";
import { shown } from "./view.js";

export function toast(text, bad = false) {
  const t = $("toast");
  t.textContent = text; t.className = `toast show${bad ? " bad" : ""}`;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = "toast"; }, 6000);
}

// The incident an action is for is fixed when the action begins: a live incident that opens
// while a form about the drill is being filled in must not receive that form.
let target = null;

function aim() {
  const inc = S.board && shown(S.board, S.selected).incident;
  target = inc ? inc.id : null;
  return inc;
}

function incidentPath(suffix) {
  return `/v1/incidents/${encodeURIComponent(target)}/${suffix}`;
}

async function send(path, body, key) {
  const result = await post(path, { ...body, client_event_id: key }, S.token);
  toast(outcome(result), !result.ok);
  if (result.status === 401) endAccess();
  return result;
}

/** A form in a dialog: one client_event_id per opening, the button held while it is sent. */
function form(dialogId, prepare, submit) {
  const dialog = $(dialogId);
  const f = dialog.querySelector("form");
  let key = null, aimed = null;
  f.querySelector(".cancel")?.addEventListener("click", () => dialog.close());
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = f.querySelector("button[type=submit]");
    if (button.disabled) return;
    button.disabled = true;
    try {
      target = aimed;  // this dialog's incident, whatever was aimed at since
      const result = await submit(key);
      if (result && result.ok) dialog.close();
    } finally {
      button.disabled = false;
    }
  });
  return () => {
    key = uuid();
    const inc = aim();
    aimed = target;
    let note = f.querySelector(".target");
    if (!note) { note = document.createElement("p"); note.className = "target"; f.querySelector("h2").after(note); }
    note.textContent = inc ? `For: ${inc.mode.toUpperCase()} ${said(inc.kind)}, opened ${new Date(inc.opened_at).toLocaleTimeString()}` : "";
    prepare();
    dialog.showModal();
  };
}

function confirmThen(title, text, yes, act) {
  const dialog = $("confirm-dialog");
  const key = uuid();
  const inc = aim();
  $("confirm-h").textContent = title;
  $("confirm-text").textContent = `${text} (${inc.mode.toUpperCase()} ${said(inc.kind)})`;
  $("confirm-yes").textContent = yes;
  const aimed = target;
  $("confirm-yes").onclick = async () => {
    target = aimed;
    $("confirm-yes").disabled = true;
    try { if ((await act(key)).ok) dialog.close(); } finally { $("confirm-yes").disabled = false; }
  };
  $("confirm-no").onclick = () => dialog.close();
  dialog.showModal();
  $("confirm-no").focus();
}

function options(select, items, chosen) {
  select.replaceChildren(...items.map(([value, label]) => {
    const o = document.createElement("option");
    o.value = value; o.textContent = label; o.selected = value === chosen;
    return o;
  }));
}

const roomOptions = () => (S.board.rooms || []).map((r) => [r.id, r.unit && r.unit !== "room" ? r.name : `${r.id} ${r.name}`]);
// An alert names a bus or an away event by its own field; a room by `room`.
const whereField = (id) => { const u = (S.board.rooms || []).find((r) => r.id === id)?.unit; return u && u !== "room" ? u : "room"; };

function peopleChecks() {
  const room = $("report-room").value;
  const roster = (S.board.roster || {})[room] || [];
  const box = $("report-people");
  clear(box);  // built afresh: a tick must never carry over to another room's child
  if (!S.board.roster) return;
  mount(box, h("fieldset", null, h("legend", null, roster.length ? "Who is missing or injured" : "No roster for this room"),
    roster.map((p) => h("div", { class: "person" }, h("span", null, p.name),
      h("label", null, h("input", { type: "checkbox", name: "missing", value: p.id }), " missing"),
      h("label", null, h("input", { type: "checkbox", name: "injured", value: p.id }), " injured")))));
}

const openReport = form("report-dialog", () => {
  options($("report-room"), roomOptions(), localStorage.getItem("muster-room"));
  for (const r of document.querySelectorAll("#report-form input[name=status]")) r.checked = false;
  $("report-present").value = "";
  peopleChecks();
}, (key) => {
  const f = $("report-form");
  const room = $("report-room").value;
  localStorage.setItem("muster-room", room);
  const body = { status: f.querySelector("input[name=status]:checked").value };
  if ($("report-present").value !== "") body.present = Number($("report-present").value);
  const ticked = (name) => [...f.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
  if (S.board.roster) { body.missing = ticked("missing"); body.injured = ticked("injured"); }
  return send(incidentPath(`rooms/${encodeURIComponent(room)}/status`), body, key);
});
$("report-room").addEventListener("change", peopleChecks);

const openPress = form("press-dialog", () => {
  // A press is always real: during a drill, say so before it reaches live channels.
  // During a tabletop a press is real too, and no box makes it part of the exercise.
  const mode = S.board.incident ? S.board.incident.mode : "live";
  $("press-real").hidden = !["drill", "tabletop"].includes(mode);
  $("press-drill-choice").hidden = mode !== "drill";
  $("press-real-text").textContent = mode === "tabletop"
    ? "A tabletop exercise is running. This alert is REAL: live channels and responders hear it."
    : "A drill is running. This alert is REAL unless you tick the box: live channels and responders hear it.";
  $("press-drill").checked = false;  // real unless someone says otherwise, every time
  options($("press-kind"), KINDS.map((k) => [k, said(k)]), "lockdown");
  options($("press-room"), roomOptions(), localStorage.getItem("muster-room"));
}, async (key) => {
  const room = $("press-room").value;
  localStorage.setItem("muster-room", room);
  const body = { kind: $("press-kind").value, [whereField(room)]: room };
  if (!$("press-real").hidden && $("press-drill").checked) body.drill = true;
  const result = await send(`/v1/sites/${encodeURIComponent(site)}/alerts`, body, key);
  if (result.ok && result.doc && !result.doc.duplicate) {
    // The presser may cancel a false alarm within the site's window: remember whose press it was.
    S.pressed = { incident: result.doc.incident_id, at: Date.now() };
    sessionStorage.setItem("muster-pressed", JSON.stringify(S.pressed));
    renderActions();
  }
  return result;
});

const openProtocol = form("protocol-dialog", () => {
  const open = Boolean(target);
  $("protocol-room-label").hidden = open;
  $("protocol-room").required = !open;
  options($("protocol-room"), roomOptions(), localStorage.getItem("muster-room"));
  const places = $("places");
  places.replaceChildren(...(S.board.places || []).map((p) => { const o = document.createElement("option"); o.value = p.name; return o; }));
}, (key) => {
  const action = $("protocol-action").value;
  if (!target) {
    return send(`/v1/sites/${encodeURIComponent(site)}/alerts`, { kind: action, [whereField($("protocol-room").value)]: $("protocol-room").value }, key);
  }
  const body = { action };
  for (const [field, id] of [["evacuate_to", "protocol-evacuate-to"], ["hazard", "protocol-hazard"], ["strategy", "protocol-strategy"]]) {
    if ($(id).value.trim()) body[field] = $(id).value.trim();
  }
  return send(incidentPath("protocol"), body, key);
});

// The place in force is left out: a relocation names somewhere else, and the reason why.
const openRelocate = form("relocate-dialog", () => {
  const p = shown(S.board, S.selected).protocol, now = ((p && p.places) || []).at(-1);
  $("relocate-from").textContent = `Now: ${(p && p.evacuate_to) || "place not given"}`;
  options($("relocate-to"), (S.board.places || []).filter((x) => !now || x.id !== now.site_id)
    .map((x) => [x.id, `${x.name}${x.off_site ? " (off site)" : ""}`]), null);
  $("relocate-reason").value = "";
}, (key) => send(incidentPath("relocate"), { to: $("relocate-to").value, reason: $("relocate-reason").value.trim() }, key));

const openDrill = form("drill-dialog", () => {
  options($("drill-scenario"), KINDS.map((k) => [k, said(k)]), "lockdown");
  $("drill-note").value = "";
}, (key) => {
  const body = { scenario: $("drill-scenario").value };
  if ($("drill-note").value.trim()) body.note = $("drill-note").value.trim();
  return send(`/v1/sites/${encodeURIComponent(site)}/drills`, body, key);
});

const openNote = form("note-dialog", () => { $("note-text").value = ""; },
  (key) => send(incidentPath("notes"), { text: $("note-text").value.trim() }, key));

const openCommand = form("command-dialog", () => {}, (key) => send(incidentPath("command"),
  { commander: $("command-name").value.trim(), agency: $("command-agency").value.trim() }, key));

/** One acknowledgement per incident and viewer: every tap and retry sends the same id. */
async function acknowledge() {
  if (S.acking) return;
  const inc = aim();
  if (!inc) return;
  S.acking = true; renderActions();
  try {
    S.ackKeys[inc.id] ||= uuid();
    await send(incidentPath("acks"), { responder: S.name || S.role }, S.ackKeys[inc.id]);
  } finally {
    S.acking = false; renderActions();
  }
}

function allClear() {
  confirmThen("Give the all clear?", "This lifts the protocol for everyone at the site. Only do this when responders say it is safe.",
    "Yes, all clear", (key) => send(incidentPath("all-clear"), {}, key));
}

function cancelAlarm() {
  confirmThen("Cancel this alert as a false alarm?", "Everyone who was alerted gets “FALSE ALARM”, and the incident ends.",
    "Yes, cancel the alert", (key) => send(incidentPath("cancel"), { reason: "false alarm, cancelled from the board" }, key));
}

export function renderActions() {
  const nav = $("actions");
  const b = shown(S.board, S.selected);
  const inc = b.incident, role = S.role;
  if (!role || b.mode === "replay" || role === "device") {
    mount(nav, b.mode === "replay" ? h("p", null, "A replay: nothing here changes the real incident.") : null);
    return;
  }
  const buttons = [];
  const add = (label, act, cls = "", disabled = false) => buttons.push(h("button",
    { type: "button", class: cls, onclick: act, disabled, "data-key": `act-${label}` }, label));
  const acked = inc && (b.acks || []).some((a) => a.responder === (S.name || S.role));
  if (role === "staff") {
    add("Press for help", openPress, "danger");
    if (inc) { add("Report my room", openReport, "primary"); add("Add note", openNote); }
  }
  if (role === "commander") {
    add("Declare protocol", openProtocol, "primary");
    if (!S.board.incident && b.mode !== "replay") add("Start a drill", openDrill);
    if (inc) {
      add("Report a room", openReport);
      if (b.protocol && b.protocol.action === "evacuate") add("Relocate", openRelocate, "warn");
      if (b.protocol) add("All clear", allClear, "warn");
      add("Cancel — false alarm", cancelAlarm, "warn");
      add("Transfer command", openCommand);
      add("Add note", openNote);
      if (!acked) add("Acknowledge", acknowledge, "", S.acking);
    }
  }
  if ((role === "responder" || role === "dispatch") && inc) {
    add(acked ? "Acknowledged ✓" : "Acknowledge", acknowledge, acked ? "" : "primary", acked || S.acking);
    if (role === "responder") add("Add note", openNote);
  }
  const mine = S.pressed && inc && S.pressed.incident === inc.id;
  const left = mine ? (b.cancel_window_s ?? 10) - (Date.now() - S.pressed.at) / 1000 : 0;
  if (role === "staff" && left > 0) add(`Cancel — false alarm`, cancelAlarm, "warn");
  mount(nav, buttons.length ? buttons : h("p", null, "Nothing to do from this role while no incident is open."));
}
