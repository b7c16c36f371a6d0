// Virtual nodes and their one way onto the page: text is only ever set as text, never parsed as
// HTML, so nothing a board carries (a note, a name) can become markup. `mount` patches what
// changed since the last drawing, so an update touches a few nodes, and focus, scroll and opened
// <details> stay where the person left them.
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

function patchChildren(el, before, after, svg) {
  const nodes = [...el.childNodes];
  if (nodes.length !== before.length) {  // changed behind our back: draw afresh
    el.replaceChildren(...after.map((n) => build(n, svg)));
    return;
  }
  for (let i = 0; i < after.length; i++) {
    const old = before[i], next = after[i], node = nodes[i];
    if (old === undefined) { el.append(build(next, svg)); continue; }
    if (isText(old) && isText(next)) {
      if (String(old) !== String(next)) node.textContent = String(next);
    } else if (isText(old) || isText(next) || old.tag !== next.tag) {
      node.replaceWith(build(next, svg));
    } else {
      update(node, old, next, svg);
    }
  }
  for (let i = nodes.length - 1; i >= after.length; i--) nodes[i].remove();
}

/** Make `el`'s children what `nodes` describe, changing only what differs from last time. */
export function mount(el, ...nodes) {
  const next = nodes.flat().filter(Boolean);
  patchChildren(el, el._vnodes || [], next, el instanceof SVGElement);
  el._vnodes = next;
}
