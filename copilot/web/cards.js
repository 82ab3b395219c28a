// Suggestion cards: at most MAX_VISIBLE open cards, newest first; handled and older ones go to
// a collapsed list. Each card has one annotation id: changing the verdict (accept -> edit ...)
// re-sends that id, and the server keeps every revision.

import { el, inlineForm } from "./ui.js";

const MAX_VISIBLE = 2;

export class CardsView {
  /**
   * @param {object} dom   {cards, handled, handledBox, handledCount, empty, template}
   * @param {object} hooks {annotate(msg, statusEl, id) -> id, flag(flag_id) -> flag event}
   */
  constructor(dom, hooks) {
    this.dom = dom;
    this.hooks = hooks;
    this.cards = new Map();  // suggestion_id -> card
    this.order = [];         // suggestion ids, newest first
  }

  suggestion(ev) {
    let card = this.cards.get(ev.suggestion_id);
    if (!card) {
      card = this.build(ev);
      this.cards.set(ev.suggestion_id, card);
      this.order.unshift(ev.suggestion_id);
    }
    card.ev = ev;
    if (!card.edited) card.node.querySelector(".reply").textContent = ev.text;
    card.node.classList.toggle("streaming", !!ev.partial);
    const lat = card.node.querySelector(".latency");
    lat.textContent = `${(ev.latency_s || 0).toFixed(1)} s`;
    this.renderSources(card);
    this.renderHead(card);
    this.layout();
  }

  /**
   * A flag was refined (e.g. claim type from the final): update its cards' chips. A retracted
   * flag takes its card away, unless the rep already acted on it (that card stays, marked).
   */
  flag(ev) {
    for (const [id, card] of [...this.cards]) {
      if (card.ev.flag_id !== ev.flag_id) continue;
      if (!ev.retracted) { this.renderHead(card); continue; }
      if (card.verdict) { card.node.classList.add("withdrawn"); continue; }
      card.node.remove();
      this.cards.delete(id);
      this.order = this.order.filter((x) => x !== id);
    }
    if (ev.retracted) this.layout();
  }

  build(ev) {
    const node = this.dom.template.content.firstElementChild.cloneNode(true);
    node.dataset.suggestionId = ev.suggestion_id;
    const card = { ev, node, annotationId: null, verdict: null, edited: false };
    const on = (cls, fn) => node.querySelector(cls).addEventListener("click", fn);
    on(".accept", () => this.accept(card));
    on(".dismiss", () => this.dismiss(card));
    on(".edit", () => this.openEdit(card));
    on(".wrong", () => this.openWrong(card));
    on(".save-edit", () => this.saveEdit(card));
    on(".cancel-edit", () => { node.querySelector(".edit-area").hidden = true; });
    return card;
  }

  renderHead(card) {
    const f = this.hooks.flag(card.ev.flag_id);
    card.node.querySelector(".competitor").textContent = f ? (f.competitor_name || f.kind) : "";
    card.node.querySelector(".claim").textContent = f ? f.claim_type.replace(/_/g, " ") : "";
  }

  renderSources(card) {
    const items = (card.ev.sources || []).map((s) => {
      const li = el("li", "", [el("span", "src-title", s.title || s.section),
        el("span", "src-path", `${s.playbook} § ${s.section} · v${s.version}`)]);
      li.title = `retrieval score ${Number(s.score || 0).toFixed(2)}`;
      return li;
    });
    card.node.querySelector(".sources").replaceChildren(...items);
  }

  /** Newest open cards on top (at most MAX_VISIBLE); the rest in the collapsed list. */
  layout() {
    const open = this.order.filter((id) => !this.cards.get(id).verdict);
    const visible = new Set(open.slice(0, MAX_VISIBLE));
    const shown = [];
    const rest = [];
    for (const id of this.order) (visible.has(id) ? shown : rest).push(this.cards.get(id).node);
    // moving a node blurs whatever inside it had focus: give it back (never take it)
    const focused = document.activeElement;
    this.dom.cards.replaceChildren(...shown);
    this.dom.handled.replaceChildren(...rest);
    if (focused && focused !== document.body && focused.isConnected
        && document.activeElement !== focused) focused.focus({ preventScroll: true });
    this.dom.empty.hidden = this.order.length > 0;
    this.dom.handledBox.hidden = rest.length === 0;
    this.dom.handledCount.textContent = String(rest.length);
  }

  newest() {
    const first = this.dom.cards.firstElementChild;
    return first ? this.cards.get(first.dataset.suggestionId) : null;
  }

  send(card, action, fields, label) {
    const status = card.node.querySelector(".status");
    card.annotationId = this.hooks.annotate(
      { action, target_id: card.ev.suggestion_id, ...fields }, status, card.annotationId, label);
    card.verdict = action;
    card.node.dataset.verdict = action;
    this.layout();
  }

  accept(card) { this.send(card, "accept", {}, "Accepted"); }

  dismiss(card) { this.send(card, "dismiss", {}, "Dismissed"); }

  openEdit(card) {
    const area = card.node.querySelector(".edit-area");
    const box = area.querySelector("textarea");
    box.value = card.node.querySelector(".reply").textContent;
    area.hidden = false;
    box.focus({ preventScroll: true });  // the rep asked for the editor
  }

  saveEdit(card) {
    const area = card.node.querySelector(".edit-area");
    const text = area.querySelector("textarea").value.trim();
    area.hidden = true;
    if (!text) return;
    card.edited = true;
    card.node.querySelector(".reply").textContent = text;
    this.send(card, "edit", { text, original: card.ev.text }, "Edited");
  }

  openWrong(card) {
    inlineForm(card.node.querySelector(".card-form"), "wrong",
      (fields) => this.send(card, "wrong", fields, "Marked wrong"));
  }
}
