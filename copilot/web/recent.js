// The rep's recent calls, shown before a call starts (GET /v1/calls?rep=…, newest first).
//
// callSummary() is pure (record in, display strings out) so it is testable without a page;
// RecentCallsView only puts those strings into the DOM. Rows are not links on purpose: the
// widget has no review mode yet, and re-opening a stored call id would append to that call.

import { el, clock } from "./ui.js";

const DAY_MS = 86_400_000;

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function startOfDay(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/**
 * Display strings for one stored call.
 * @param {object} rec  a /v1/calls item {call_id, started_at (Unix s), audio_seconds, account,
 *                      status, counts: {flag, suggestion, …}}
 * @param {Date} now    "today" for the relative day names (local time, like the rep's clock)
 * @returns {{iso: string, when: string, account: string, duration: string, counts: string,
 *            status: string}} `status` is "" for an ended call, else the stored status
 */
export function callSummary(rec, now = new Date()) {
  const started = new Date((rec.started_at || 0) * 1000);
  const time = started.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const days = Math.round((startOfDay(now) - startOfDay(started)) / DAY_MS);
  const day = days === 0 ? "Today" : days === 1 ? "Yesterday"
    : started.toLocaleDateString([], { day: "numeric", month: "short",
      year: started.getFullYear() === now.getFullYear() ? undefined : "numeric" });
  const counts = rec.counts || {};
  return {
    iso: started.toISOString(),
    when: `${day} ${time}`,
    account: rec.account || "no account",
    duration: clock(rec.audio_seconds),
    counts: `${plural(counts.flag || 0, "flag", "flags")} · `
      + `${plural(counts.suggestion || 0, "reply", "replies")}`,
    status: rec.status && rec.status !== "ended" ? rec.status : "",
  };
}

export class RecentCallsView {
  /** @param {object} dom {box, list, empty} */
  constructor(dom) {
    this.dom = dom;
  }

  /**
   * Show `records` (newest first); the page's own call, if already stored, is marked.
   * @param {object[]} records  /v1/calls items
   * @param {object} ctx        {rep, callId, now}
   */
  render(records, ctx) {
    const rows = records.map((rec) => {
      const s = callSummary(rec, ctx.now);
      const when = el("time", "when", s.when);
      when.dateTime = s.iso;
      const tags = [];
      if (rec.call_id === ctx.callId) tags.push(el("span", "tag", "this call"));
      if (s.status) tags.push(el("span", "tag", s.status));
      const li = el("li", "", [
        el("div", "recent-top", [when, el("span", "account", s.account), ...tags]),
        el("div", "recent-meta", [el("span", "duration", s.duration),
          el("span", "counts", s.counts)])]);
      li.querySelector(".duration").title = "audio length (min:s)";
      li.dataset.callId = rec.call_id;
      li.title = `call ${rec.call_id}`;
      return li;
    });
    this.dom.list.replaceChildren(...rows);
    this.dom.empty.textContent = rows.length ? "" : `No earlier calls for ${ctx.rep}.`;
    this.dom.empty.hidden = rows.length > 0;
    this.dom.box.hidden = false;
  }

  /** The list could not be loaded: say so (one line), the call itself is unaffected. */
  fail(reason) {
    this.dom.list.replaceChildren();
    this.dom.empty.textContent = `Recent calls unavailable (${reason}).`;
    this.dom.empty.hidden = false;
    this.dom.box.hidden = false;
  }

  hide() {
    this.dom.box.hidden = true;
  }
}
