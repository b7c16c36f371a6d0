// How each room status is said: a word and a glyph as well as a colour, never colour alone.
export const STATUS = {
  needs_help: { word: "Needs help", short: "HELP", glyph: "!", rank: 0 },
  unreachable: { word: "No contact", short: "NO CONTACT", glyph: "?", rank: 1 },
  none: { word: "No report yet", short: "NO REPORT", glyph: "…", rank: 2 },
  secured: { word: "Secured", short: "SECURED", glyph: "✓", rank: 3 },
  evacuated: { word: "Evacuated", short: "EVACUATED", glyph: "→", rank: 4 },
  clear: { word: "Clear (empty)", short: "CLEAR", glyph: "○", rank: 5 },
};

// The SRP's actions: the words are the board's directive; these are the names and the order.
export const ACTIONS = ["hold", "secure", "lockdown", "evacuate", "shelter"];

export const KINDS = ["lockdown", "armed_intruder", "medical", "fire", "secure", "hold", "evacuate",
  "shelter", "weather", "hazmat", "bomb_threat", "police_activity", "fight", "upset_parent",
  "transportation", "other"];

export function said(kind) { return (kind || "").replaceAll("_", " "); }
