// Commands from the page, through the same HTTP API as any client. Each action gets one
// client_event_id when it is begun, and every retry of it sends the same id: a double tap or a
// retry on a bad network writes one event.

/** A random UUID (v4) that also works off https, where crypto.randomUUID is missing. */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const RETRIES = 4;
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

/** POST `body` (with its client_event_id) to `path`; retried on network errors and 5xx.
 * Resolves to {ok, status, doc}; never throws. */
export async function post(path, body, token) {
  let last = { ok: false, status: 0, doc: { error: { message: "the network is unreachable" } } };
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    try {
      const resp = await fetch(path, {
        method: "POST", cache: "no-store",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      let doc = null;
      try { doc = await resp.json(); } catch { doc = null; }
      last = { ok: resp.ok, status: resp.status, doc };
      if (resp.status < 500 && resp.status !== 429) return last;
    } catch {
      // no answer at all: the same id again, so a press that did arrive is not doubled
    }
    await wait(400 * 2 ** attempt);
  }
  return last;
}

/** What a person reads after an action. */
export function outcome(result) {
  if (result.ok) return result.doc && result.doc.duplicate ? "Already sent — recorded once" : "Sent";
  const err = result.doc && result.doc.error;
  const field = err && err.field ? ` (${err.field})` : "";
  return `Not sent: ${err ? err.message : `HTTP ${result.status}`}${field}`;
}
