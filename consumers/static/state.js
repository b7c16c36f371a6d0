// The page's one state, shared by its modules: the board as last received, who is looking, the
// socket and what is held for a paused replay. `ui` holds the drawing functions board.js owns,
// so the socket can ask for a drawing without importing the page that imports it.
export const $ = (id) => document.getElementById(id);
export const site = decodeURIComponent(location.pathname.split("/").pop());
export const params = new URLSearchParams(location.hash.slice(1));
export const S = {
  token: params.get("token") || sessionStorage.getItem("muster-token") || "",
  board: null, role: null, name: null, skew: 0, selected: null,
  ws: null, retry: 500, timer: null, ended: false, live: false, lastMessage: 0, hiddenAt: 0,
  paused: false, buffer: [], playing: null, roomOpen: null, roomIncident: null, history: null,
  pendingHistory: [], ackKeys: {}, acking: false,
  pressed: JSON.parse(sessionStorage.getItem("muster-pressed") || "null"),
};
export const hook = { board: null, role: null, renders: [] };
window.muster = hook;  // for the browser tests: what was drawn, and when
export const ui = { render: () => {}, addHistory: () => {}, replayState: () => {} };

export function ctx() {
  return { role: S.role, name: S.name, now: Date.now(), skew: S.skew, selected: S.selected };
}
