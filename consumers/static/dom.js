// Virtual nodes and their one way onto the page: text is only ever set as text, never parsed as
// HTML, so nothing a board carries (a note, a name) can become markup. `mount` patches what
// changed since the last drawing, matching children by data-key, so an update touches a few
// nodes, and focus, scroll and opened <details> stay with the thing the person was looking at.
const SVG = "http://www.w3.org/2000/svg";

/** A virtual node: h("li", {class: "x"}, "text", h("b", null, "bold")). */
export function h(tag, attrs, ...children) {
  return { tag, attrs: attrs || {}, children: children.flat(Infinity).filter((c) => c != null && c !== false) };
}

const isText = (n) => typeof n === "string" || typeof n === "number";

function setAttr(el, key, value) {
  if (key.startsWith("on") && typeof value === "function") {
    const type = key.slice(2);
    if (el._on?.[type]) el.removeEventListener(type, el._on[type]);
    (el._on ||= {})[type] = value;
    el.addEventListener(type, value);
  } else if (value == null || value === false) {
    el.removeAttribute(key);
  } else {
    el.setAttribute(key, value === true ? "" : String(value));
  }
}

/** The DOM node for `node` (a virtual node or a string). */
export function build(node, inSvg = false) {
  if (isText(node)) return document.createTextNode(String(node));
  const svg = inSvg || node.tag === "svg";
  const el = svg ? document.createElementNS(SVG, node.tag) : document.createElement(node.tag);
  for (const [key, value] of Object.entries(node.attrs)) setAttr(el, key, value);
  for (const child of node.children) el.append(build(child, svg));
  return el;
}

function update(el, before, after, svg) {
  for (const key of Object.keys(before.attrs)) if (!(key in after.attrs)) setAttr(el, key, null);
  for (const [key, value] of Object.entries(after.attrs)) {
    if (before.attrs[key] !== value) setAttr(el, key, value);
  }
  patchChildren(el, before.children, after.children, svg || after.tag === "svg");
}

const keyOf = (n) => (isText(n) ? null : n.attrs["data-key"] ?? null);

// Children are matched by their data-key where they have one (a re-sorted room list moves its
// buttons, never relabels them), else by position; each reused node is updated in place.
function patchChildren(el, before, after, svg) {
  const nodes = [...el.childNodes];
  if (nodes.length !== before.length) {  // changed behind our back: draw afresh
    el.replaceChildren(...after.map((n) => build(n, svg)));
    return;
  }
  const byKey = new Map();
  before.forEach((v, i) => { const k = keyOf(v); if (k != null) byKey.set(k, i); });
  const used = new Set();
  const result = after.map((next, i) => {
    const k = keyOf(next);
    const j = k != null ? byKey.get(k) : (i < before.length && keyOf(before[i]) == null ? i : undefined);
    if (j === undefined || used.has(j)) return build(next, svg);
    used.add(j);
    const old = before[j], node = nodes[j];
    if (isText(old) && isText(next)) {
      if (String(old) !== String(next)) node.textContent = String(next);
      return node;
    }
    if (isText(old) || isText(next) || old.tag !== next.tag) return build(next, svg);
    update(node, old, next, svg);
    return node;
  });
  result.forEach((node, i) => { if (el.childNodes[i] !== node) el.insertBefore(node, el.childNodes[i] || null); });
  while (el.childNodes.length > result.length) el.lastChild.remove();
}

/** Make `el`'s children what `nodes` describe, changing only what differs from last time. */
export function mount(el, ...nodes) {
  const next = nodes.flat().filter(Boolean);
  const focused = el.contains(document.activeElement) ? document.activeElement : null;
  patchChildren(el, el._vnodes || [], next, el instanceof SVGElement);
  el._vnodes = next;
  // A moved node loses focus on the way: give it back (to the same room, not the same place).
  const key = focused?.getAttribute("data-key");
  if (key && document.activeElement !== focused) {
    el.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus({ preventScroll: true });
  }
}

/** Forget what was drawn in `el`: the next mount builds every node afresh. */
export function clear(el) {
  el.replaceChildren();
  el._vnodes = [];
}
