// Small DOM helpers shared by the widget's views. Text always goes in as text nodes
// (transcripts and replies are untrusted strings), never as HTML.

export const CLAIM_TYPES = ["pricing", "feature_gap", "integration", "performance",
  "security_compliance", "support", "contract_switching", "unspecified"];
export const OBJECTION_TYPES = ["budget", "timing", "authority", "status_quo",
  "security_compliance"];

// Picker values that are not catalog ids (ids are lower-case words, these cannot collide).
const OTHER = "__other";
const OBJECTION = "__objection";

export const WRONG_REASONS = [
  ["wrong_competitor", "Wrong competitor"], ["wrong_claim", "Wrong claim"],
  ["outdated_answer", "Outdated answer"], ["not_relevant", "Not relevant"], ["other", "Other"]];

export function el(tag, cls, content) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (Array.isArray(content)) node.append(...content);
  else if (content !== undefined) node.textContent = content;
  return node;
}

export function speakerLabel(s) {
  return { rep: "Rep", customer: "Customer" }[s] || "Speaker";
}

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function option(value, label) {
  const o = el("option", "", label);
  o.value = value;
  return o;
}

function select(cls, options, value) {
  const node = el("select", cls, options.map(([v, label]) => option(v, label)));
  if (value) node.value = value;
  return node;
}

const human = (type) => type.replace(/_/g, " ");

/**
 * The "AI missed this" fields: words, what was missed, its claim/objection type.
 *
 * `opts.catalog` = {competitors: [{id, name}], claim_types, objection_types} (GET /v1/catalog).
 * Every catalog competitor is offered, not only those flagged in this call: a miss is by
 * definition something the detector did not flag. "Other competitor…" takes free text (a
 * vendor not in the catalog yet is exactly what the playbook owners need to hear about), and
 * "an objection" switches the type list to objection types. The read values mirror a flag
 * event: {text, kind, competitor (catalog id or null), competitor_name, claim_type}.
 * @returns {{fields: HTMLElement[], read: () => object}}
 */
export function missedFields(opts) {
  const catalog = opts.catalog || {};
  const competitors = catalog.competitors || [];
  const claimTypes = catalog.claim_types || CLAIM_TYPES;
  const objectionTypes = catalog.objection_types || OBJECTION_TYPES;
  const text = el("input", "missed-text");
  text.value = opts.text || "";
  text.setAttribute("aria-label", "Words the AI missed");
  const what = el("select", "missed-competitor", [
    option("", "What was missed?"),
    el("optgroup", "", competitors.map((c) => option(c.id, c.name))),
    option(OTHER, "Other competitor…"), option(OBJECTION, "No competitor: an objection")]);
  what.querySelector("optgroup").label = "Competitors";
  what.required = true;  // the placeholder's value "" fails the check: Save asks to pick one
  what.setAttribute("aria-label", "Competitor or objection");
  const other = el("input", "missed-other");
  other.placeholder = "Competitor name";
  other.setAttribute("aria-label", "Competitor not in the list");
  const type = el("select", "missed-claim");
  type.setAttribute("aria-label", "Claim or objection type");
  const sync = () => {
    const objection = what.value === OBJECTION;
    const types = objection ? objectionTypes : claimTypes;
    const keep = types.includes(type.value) ? type.value : null;
    type.replaceChildren(...types.map((t) => option(t, human(t))));
    type.value = keep || (objection ? types[0] : "unspecified");
    other.hidden = what.value !== OTHER;
    other.required = what.value === OTHER;
  };
  what.addEventListener("change", () => {
    sync();
    if (what.value === OTHER) other.focus({ preventScroll: true });
  });
  sync();
  const read = () => {
    if (what.value === OBJECTION) {
      return { text: text.value.trim(), kind: "objection", competitor: null,
        competitor_name: null, claim_type: type.value };
    }
    const known = competitors.find((c) => c.id === what.value);
    return { text: text.value.trim(), kind: "competitor",
      competitor: known ? known.id : null,
      competitor_name: known ? known.name : other.value.trim(), claim_type: type.value };
  };
  return { fields: [text, what, other, type], read };
}

/**
 * Replace `container`'s content with a small form; `onSubmit(fields)` runs on save.
 * kind "wrong" -> {reason, note}; kind "missed" -> see missedFields (`opts` goes to it).
 * The first field takes focus: the rep opened the form, so this does not steal focus.
 */
export function inlineForm(container, kind, onSubmit, opts = {}) {
  const fields = [];
  let read;
  if (kind === "wrong") {
    const reason = select("reason", WRONG_REASONS);
    const note = el("input", "wrong-note");
    note.placeholder = "What was wrong? (optional)";
    fields.push(reason, note);
    read = () => ({ reason: reason.value, note: note.value.trim() });
  } else {
    const picker = missedFields(opts);
    fields.push(...picker.fields);
    read = picker.read;
  }
  const save = el("button", "primary save", kind === "wrong" ? "Mark wrong" : "Save");
  const cancel = el("button", "cancel", "Cancel");
  const form = el("form", `inline-form ${kind}-form`, [...fields,
    el("div", "buttons", [save, cancel])]);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const values = read();
    container.replaceChildren();
    onSubmit(values);
  });
  cancel.addEventListener("click", (e) => {
    e.preventDefault();
    container.replaceChildren();
  });
  container.replaceChildren(form);
  fields[0].focus({ preventScroll: true });
  return form;
}
