// A district's reunification points, each with its students and guardians waiting, students
// released and exception cases, read every 5 s (GET /v1/districts/{district}/reunification) with
// a token bound to all sites, from the URL fragment (`#token=…`) or typed in.
import { h, mount } from "./dom.js";

const $ = (id) => document.getElementById(id);
const parts = location.pathname.split("/").filter(Boolean);
const district = decodeURIComponent(parts[parts.length - 2] || "");
const params = new URLSearchParams(location.hash.slice(1));
const S = { token: params.get("token") || sessionStorage.getItem("muster-token") || "", okAt: 0, timer: 0 };

async function get(path) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${S.token}`, Accept: "application/json" }, cache: "no-store" });
  if (resp.status === 401) throw Object.assign(new Error("The token is not valid any more: open the page with a new one."), { stop: true });
  if (resp.status === 403) throw Object.assign(new Error("This token may not read the district: a commander's or an administrator's token bound to all sites is needed."), { stop: true });
  if (!resp.ok) {
    const body = await resp.json().catch(() => null);
    throw new Error(body?.error?.message || `The server answered ${resp.status}.`);
  }
  return resp.json();
}

const FIGURES = [["students_waiting", "student waiting", "students waiting"],
  ["guardians_waiting", "guardian waiting", "guardians waiting"], ["released", "released", "released"],
  ["exceptions", "exception", "exceptions"]];
const said = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function point(p) {
  return h("article", { class: `point-card${p.place ? "" : " unset"}`, "data-key": p.place_id || p.place || "none" },
    h("h2", null, p.place || "No reunification point set yet"),
    p.address ? h("p", null, p.address) : null,
    h("p", { class: "dim" }, `${p.sites.join(", ")} · ${p.incidents.length} incident${p.incidents.length === 1 ? "" : "s"}`),
    h("div", { class: "figures" }, FIGURES.map(([key, one, many]) => h("p", {
      class: `figure f-${key}${p[key] ? " some" : ""}`, "data-key": key }, h("b", null, String(p[key])), p[key] === 1 ? one : many))));
}

function draw(doc) {
  $("district").textContent = doc.district;
  document.title = `Reunification — ${doc.district}`;
  if (!doc.points.length) { mount($("points"), h("p", { class: "dim" }, "No reunification is under way in this district.")); $("totals").textContent = ""; return; }
  const sum = (key) => doc.points.reduce((n, p) => n + p[key], 0);
  $("totals").textContent = `${doc.points.length} reunification point${doc.points.length === 1 ? "" : "s"}: `
    + FIGURES.map(([key, one, many]) => said(sum(key), one, many)).join(" · ");
  mount($("points"), doc.points.map(point));
}

function freshness() {
  const conn = $("conn"), age = Math.round((Date.now() - S.okAt) / 1000);
  const fresh = S.okAt && age < 12;
  conn.className = `conn ${fresh ? "live" : "down"}`;
  conn.textContent = fresh ? "up to date" : S.okAt ? `not updated for ${age} s` : "connecting…";
}

async function load() {
  try {
    draw(await get(`/v1/districts/${encodeURIComponent(district)}/reunification`));
    S.okAt = Date.now();
    $("problem").hidden = true;
  } catch (err) {
    $("problem").textContent = err.message;
    $("problem").hidden = false;
    if (err.stop) clearInterval(S.timer);
  }
  freshness();
}

document.addEventListener("DOMContentLoaded", () => {
  if (!S.token) {
    $("login").hidden = false;
    $("main").hidden = true;
    $("login").onsubmit = (ev) => { ev.preventDefault(); S.token = $("token").value.trim(); sessionStorage.setItem("muster-token", S.token); location.reload(); };
    return;
  }
  sessionStorage.setItem("muster-token", S.token);
  history.replaceState(null, "", location.pathname);  // the token leaves the address bar
  load();
  S.timer = setInterval(load, 5000);
  setInterval(freshness, 1000);
});
