// Small DOM helpers shared by the widget's views. Text always goes in as text nodes
// (transcripts and replies are untrusted strings), never as HTML.

export const CLAIM_TYPES = ["pricing", "feature_gap", "integration", "performance",
  "security_compliance", "support", "contract_switching", "unspecified"];

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

function select(cls, options, value) {
  const node = el("select", cls);
  for (const [v, label] of options) {
    const o = el("option", "", label);
    o.value = v;
    node.append(o);
  }
  if (value) node.value = value;
  return node;
}

/**
 * Replace `container`'s content with a small form; `onSubmit(fields)` runs on save.
 * kind "wrong" -> {reason, note}; kind "missed" -> {text, competitor, claim_type}.
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
    const text = el("input", "missed-text");
    text.value = opts.text || "";
    text.setAttribute("aria-label", "Words the AI missed");
    const comp = el("input", "missed-competitor");
    comp.placeholder = "Competitor";
    const listId = `comp-${Math.random().toString(36).slice(2)}`;
    const list = el("datalist", "", (opts.competitors || []).map((c) => {
      const o = el("option");
      o.value = c;
      return o;
    }));
    list.id = listId;
    comp.setAttribute("list", listId);
    const claim = select("missed-claim", (opts.claims || CLAIM_TYPES).map(
      (c) => [c, c.replace(/_/g, " ")]), "unspecified");
    fields.push(text, comp, list, claim);
    read = () => ({ text: text.value.trim(), competitor: comp.value.trim(),
      claim_type: claim.value });
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
