// Virtual nodes and their one way onto the page: text is only ever set as text, never parsed as
// HTML, so nothing a board carries (a note, a name) can become markup.
const SVG = "http://www.w3.org/2000/svg";

/** A virtual node: h("li", {class: "x"}, "text", h("b", null, "bold")). */
export function h(tag, attrs, ...children) {
  return { tag, attrs: attrs || {}, children: children.flat(Infinity).filter((c) => c != null && c !== false) };
}

/** The DOM node for `node` (a virtual node or a string). */
export function build(node, inSvg = false) {
  if (typeof node === "string" || typeof node === "number") return document.createTextNode(String(node));
  const svg = inSvg || node.tag === "svg";
  const el = svg ? document.createElementNS(SVG, node.tag) : document.createElement(node.tag);
  for (const [key, value] of Object.entries(node.attrs)) {
    if (value == null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of node.children) el.append(build(child, svg && node.tag !== "foreignObject"));
  return el;
}

/** Replace `el`'s children with `nodes`, keeping keyboard focus and opened <details> on the
 * elements of the same key, so a redraw never takes a person's place away. */
export function mount(el, ...nodes) {
  const focused = document.activeElement?.getAttribute?.("data-key");
  const opened = [...el.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key);
  el.replaceChildren(...nodes.flat().filter(Boolean).map((n) => build(n)));
  for (const key of opened) el.querySelector(`details[data-key="${CSS.escape(key)}"]`)?.setAttribute("open", "");
  if (focused) el.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
}
