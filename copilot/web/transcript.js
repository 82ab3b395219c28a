// Live transcript: lines keyed by segment_id (partials replaced in place, never appended),
// flags highlighted on their evidence words, "AI missed this" on any line.

import { el, inlineForm, speakerLabel, clock } from "./ui.js";

export class TranscriptView {
  /**
   * @param {HTMLElement} root
   * @param {object} hooks  {annotate(msg) -> annotation id, markFlag(flag, action, fields),
   *                          catalog() -> {competitors: [{id, name}], claim_types,
   *                          objection_types} for the "AI missed this" picker}
   */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.lines = new Map();   // segment_id -> {ev, node, text, flags}
    this.flags = new Map();   // flag_id -> flag event
    this.selection = null;    // {segmentId, text}: last words selected inside a line
    document.addEventListener("selectionchange", () => this.rememberSelection());
  }

  rememberSelection() {
    const sel = document.getSelection();
    if (!sel || sel.isCollapsed) return;
    const node = sel.anchorNode && sel.anchorNode.parentElement;
    const line = node && node.closest(".line");
    if (line) this.selection = { segmentId: line.dataset.segmentId, text: sel.toString().trim() };
  }

  transcript(ev) {
    let line = this.lines.get(ev.segment_id);
    if (!line) {
      const text = el("span", "text");
      const missed = el("button", "missed", "AI missed this");
      missed.title = "Select words in this line first (optional)";
      missed.addEventListener("click", () => this.openMissed(ev.segment_id));
      const node = el("div", "line", [
        el("div", "meta", [el("span", "who"), el("span", "time")]),
        text, el("div", "line-flags"), missed, el("div", "line-form")]);
      node.dataset.segmentId = ev.segment_id;
      line = { ev, node, text, flags: new Set() };
      this.lines.set(ev.segment_id, line);
      this.insertSorted(line);
      // a flag can arrive before its line (e.g. from a partial we never showed)
      for (const f of this.flags.values()) if (f.segment_id === ev.segment_id) line.flags.add(f.flag_id);
      if (line.flags.size) this.renderFlagChips(line);
    }
    line.ev = ev;
    const { node } = line;
    node.classList.toggle("partial", !ev.final);
    node.dataset.speaker = ev.speaker;
    node.querySelector(".who").textContent = speakerLabel(ev.speaker);
    node.querySelector(".time").textContent = clock(ev.start);
    this.renderText(line);
    // follow the conversation unless the rep scrolled up to read
    const atBottom = this.root.scrollHeight - this.root.scrollTop - this.root.clientHeight < 80;
    if (atBottom) this.root.scrollTop = this.root.scrollHeight;
  }

  insertSorted(line) {
    const after = [...this.root.children].find(
      (n) => this.lines.get(n.dataset.segmentId).ev.start > line.ev.start);
    this.root.insertBefore(line.node, after || null);
  }

  flag(ev) {
    const line = this.lines.get(ev.segment_id);
    if (ev.retracted) {
      // the final did not hear what a partial did: the highlight and its chip go
      this.flags.delete(ev.flag_id);
      if (line && line.flags.delete(ev.flag_id)) { this.renderText(line); this.renderFlagChips(line); }
      return;
    }
    this.flags.set(ev.flag_id, ev);
    if (!line) return;  // its final transcript will render it
    line.flags.add(ev.flag_id);
    this.renderText(line);
    this.renderFlagChips(line);
  }

  /** Text with each flag's evidence wrapped in <mark>; built as DOM, never as HTML. */
  renderText(line) {
    const text = line.ev.text;
    const spans = [];
    for (const id of line.flags) {
      const f = this.flags.get(id);
      if (!f || !f.evidence) continue;
      const at = text.toLowerCase().indexOf(f.evidence.toLowerCase());
      if (at >= 0) spans.push({ at, end: at + f.evidence.length, f });
    }
    spans.sort((a, b) => a.at - b.at);
    const parts = [];
    let pos = 0;
    for (const s of spans) {
      if (s.at < pos) continue;  // overlapping evidence: the first one wins
      parts.push(document.createTextNode(text.slice(pos, s.at)));
      const m = el("mark", "flag", text.slice(s.at, s.end));
      m.dataset.flagId = s.f.flag_id;
      m.title = `${s.f.competitor_name || s.f.kind} · ${s.f.claim_type}`;
      parts.push(m);
      pos = s.end;
    }
    parts.push(document.createTextNode(text.slice(pos)));
    line.text.replaceChildren(...parts);
  }

  renderFlagChips(line) {
    const box = line.node.querySelector(".line-flags");
    const chips = [];
    for (const id of line.flags) {
      const f = this.flags.get(id);
      // A flag refined by its final re-renders the chips. Carry the status (pending/saved) and
      // a half-filled "wrong" form over, and point every handler at the elements that stay in
      // the DOM: a handler holding a detached status would never show the ack.
      const prev = box.querySelector(`[data-flag-id="${CSS.escape(id)}"]`);
      const status = (prev && prev.querySelector(".status")) || el("span", "status");
      const form = (prev && prev.querySelector(".flag-form")) || el("div", "flag-form");
      const chip = el("div", "flag-chip", [
        el("span", "chip competitor", f.competitor_name || f.kind),
        el("span", "chip claim", f.claim_type.replace(/_/g, " ")),
        el("button", "flag-ok", "Right"), el("button", "flag-wrong", "Wrong"), status, form]);
      chip.dataset.flagId = id;
      chip.querySelector(".flag-ok").addEventListener(
        "click", () => this.hooks.markFlag(f, "accept", {}, status));
      chip.querySelector(".flag-wrong").addEventListener("click", () => {
        inlineForm(form, "wrong", (fields) => this.hooks.markFlag(f, "wrong", fields, status));
      });
      chips.push(chip);
    }
    box.replaceChildren(...chips);
  }

  openMissed(segmentId) {
    const line = this.lines.get(segmentId);
    const form = line.node.querySelector(".line-form");
    const chosen = this.selection && this.selection.segmentId === segmentId
      ? this.selection.text : line.ev.text;
    inlineForm(form, "missed", (fields) => {
      const status = el("span", "status");
      line.node.querySelector(".meta").append(status);
      this.hooks.annotate({ action: "missed", target_id: segmentId, ...fields }, status);
    }, { text: chosen, catalog: this.hooks.catalog() });
  }
}
