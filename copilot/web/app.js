// The rep's widget: wiring between capture, the call socket and the views.
//
// Call id: `?call=` in the URL (e.g. the CRM activity id), else generated. `?rep=` and
// `?account=` are passed on in `start`. The server is the page's own origin. Before the call
// the page lists the rep's recent calls (GET /v1/calls); the "AI missed this" picker offers the
// competitor catalog (GET /v1/catalog).

import { CallClient } from "./client.js";
import { startCapture } from "./capture.js";
import { CardsView } from "./cards.js";
import { RecentCallsView } from "./recent.js";
import { TranscriptView } from "./transcript.js";
import { el } from "./ui.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const CALL_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function newId() {
  return crypto.randomUUID ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

const callId = CALL_ID_RE.test(params.get("call") || "") ? params.get("call")
  : `web-${newId().slice(0, 13)}`;
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/calls/`
  + encodeURIComponent(callId);

let client = null;
let capture = null;
const annotations = new Map();  // annotation_id -> {statusEl, label}
const flagVerdicts = new Map();  // flag_id -> annotation_id
const early = [];  // annotations made before there is a call to send them on

/**
 * Send an annotation and show it as pending on `statusEl` until its ack.
 * @returns {string} the annotation id (pass it back to revise the same annotation)
 */
function annotate(msg, statusEl, id = null, label = null) {
  const annotationId = id || newId();
  const entry = annotations.get(annotationId) || {};
  entry.statusEl = statusEl;
  entry.label = label || { accept: "Accepted", dismiss: "Dismissed", edit: "Edited",
    wrong: "Marked wrong", missed: "Missed mention saved", note: "Note" }[msg.action];
  annotations.set(annotationId, entry);
  showStatus(entry, "pending");
  const full = { annotation_id: annotationId, ...msg };
  if (client) client.annotate(full);
  else early.push(full);  // e.g. a note typed before the call started: sent once it starts
  return annotationId;
}

function showStatus(entry, state) {
  if (!entry.statusEl) return;
  entry.statusEl.dataset.state = state;
  entry.statusEl.textContent = state === "pending" ? `${entry.label} · saving…` : `${entry.label} ✓`;
}

function onAck(ev) {
  const entry = annotations.get(ev.annotation_id);
  // saved only once the latest revision is acked (the client counts what is in flight)
  if (entry && !client.pending.has(ev.annotation_id)) showStatus(entry, "saved");
}

// The catalog for the "AI missed this" picker. Until it has loaded (or if it cannot be), the
// picker falls back to the competitors flagged in this call and the built-in type lists.
let catalog = null;

async function getJson(path) {
  const resp = await fetch(path, { headers: { Accept: "application/json" } });
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  return resp.json();
}

function pickerCatalog() {
  const known = new Set((catalog ? catalog.competitors : []).map((c) => c.id));
  const flagged = [...transcript.flags.values()]
    .filter((f) => f.competitor && !known.has(f.competitor))
    .map((f) => ({ id: f.competitor, name: f.competitor_name || f.competitor }));
  const unique = [...new Map(flagged.map((c) => [c.id, c])).values()];
  return { ...(catalog || {}), competitors: [...(catalog ? catalog.competitors : []), ...unique] };
}

const transcript = new TranscriptView($("transcript"), {
  annotate: (msg, statusEl) => annotate(msg, statusEl),
  markFlag: (flag, action, fields, statusEl) => {
    // one annotation per flag: changing the verdict revises it
    flagVerdicts.set(flag.flag_id, annotate({ action, target_id: flag.flag_id, ...fields },
      statusEl, flagVerdicts.get(flag.flag_id),
      action === "accept" ? "Flag confirmed" : "Flag marked wrong"));
  },
  catalog: pickerCatalog,
});

const cards = new CardsView({
  cards: $("cards"), handled: $("handled"), handledBox: $("handled-box"),
  handledCount: $("handled-count"), empty: $("cards-empty"), template: $("card-tpl"),
}, { annotate, flag: (id) => transcript.flags.get(id) });

const recent = new RecentCallsView({
  box: $("recent"), list: $("recent-list"), empty: $("recent-empty") });

/** Before the call: the rep's recent calls (only with `?rep=`; there is no login to ask). */
async function loadRecent() {
  const rep = params.get("rep");
  if (!rep) return;
  try {
    const calls = await getJson(`/v1/calls?rep=${encodeURIComponent(rep)}&limit=5`);
    if (!client) recent.render(calls, { rep, callId, now: new Date() });
  } catch (err) {
    if (!client) recent.fail(err.message);
  }
}

async function loadCatalog() {
  try {
    catalog = await getJson("/v1/catalog");
  } catch (err) {
    catalog = null;  // the picker still works: flagged competitors + "Other competitor…"
  }
}

// ---- connection + capture ---------------------------------------------------------------
function setConn(state, text) {
  $("conn").dataset.state = state;
  $("conn").textContent = text;
}

function onStatus(s) {
  const text = { connecting: "Connecting…", reconnecting: "Reconnecting…", live: "Live",
    offline: `Offline · retrying in ${((s.retryInMs || 0) / 1000).toFixed(1)} s`,
    ended: "Call ended" }[s.state] || s.state;
  setConn(s.state, text);
}

async function startCall() {
  $("start").disabled = true;
  $("setup-hint").textContent = "Starting the microphone…";
  try {
    capture = await startCapture({
      withTab: $("with-tab").checked,
      onFrame: (pcm, samples) => client && client.pushAudio(pcm, samples),
    });
  } catch (err) {
    $("setup-hint").textContent = `Could not open the microphone: ${err.message}`;
    $("start").disabled = !$("consent").checked;
    return;
  }
  client = new CallClient({
    url: wsUrl,
    start: { encoding: "pcm_s16le", sample_rate: 16000, channels: capture.channels,
      speakers: capture.speakers, rep: params.get("rep") || undefined,
      account: params.get("account") || undefined, language: "en" },
  });
  client.on("status", onStatus);
  client.on("transcript", (ev) => transcript.transcript(ev));
  client.on("flag", (ev) => { transcript.flag(ev); cards.flag(ev); });
  client.on("suggestion", (ev) => cards.suggestion(ev));
  client.on("annotation_ack", onAck);
  client.on("error", (ev) => toast(`${ev.code}: ${ev.message}`));
  client.on("ended", () => { $("stop").hidden = true; });
  client.connect();
  for (const msg of early.splice(0)) client.annotate(msg);
  window.copilot.client = client;
  $("rec").hidden = false;
  $("stop").hidden = false;
  $("consent").disabled = true;
  $("with-tab").disabled = true;
  $("setup").classList.add("live");  // compact while the call runs: the cards need the room
  recent.hide();
  $("setup-hint").textContent = capture.channels === 2
    ? "Recording: your microphone (rep) and the call tab (customer)."
    : "Recording your microphone (mono: speakers not separated).";
}

async function stopCall() {
  $("stop").disabled = true;
  if (capture) await capture.stop();  // posts the last partial frame first
  $("rec").hidden = true;
  if (client) client.stop();
  $("setup-hint").textContent = "Call ended. Annotations stay editable until you close the page.";
}

function toast(text) {
  const t = el("div", "toast", text);
  document.body.append(t);
  setTimeout(() => t.remove(), 6000);
}

// ---- notes ------------------------------------------------------------------------------
let editingNote = null;  // {id, li} while a saved note is being revised

function saveNote() {
  const box = $("note-text");
  const text = box.value.trim();
  if (!text) return;
  let li = editingNote && editingNote.li;
  if (!li) {
    li = el("li", "", [el("span", "note-body"), el("button", "note-edit", "Edit"),
      el("span", "status")]);
    $("notes").prepend(li);
    li.querySelector(".note-edit").addEventListener("click", () => {
      editingNote = { id: li.dataset.annotationId, li };
      box.value = li.querySelector(".note-body").textContent;
      box.focus();
    });
  }
  li.querySelector(".note-body").textContent = text;
  li.dataset.annotationId = annotate({ action: "note", target_id: callId, text },
    li.querySelector(".status"), editingNote ? editingNote.id : null, "Note");
  editingNote = null;
  box.value = "";
}

// ---- keyboard: A / D / E / W act on the newest card -------------------------------------
document.addEventListener("keydown", (e) => {
  const tag = (e.target.tagName || "").toLowerCase();
  if (["input", "textarea", "select"].includes(tag) || e.target.isContentEditable) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const card = cards.newest();
  if (!card) return;
  const act = { a: () => cards.accept(card), d: () => cards.dismiss(card),
    e: () => cards.openEdit(card), w: () => cards.openWrong(card) }[e.key.toLowerCase()];
  if (act) {
    e.preventDefault();
    act();
  }
});

$("call-id").textContent = callId;
$("consent").addEventListener("change", () => {
  $("start").disabled = !$("consent").checked;
  $("setup-hint").textContent = $("consent").checked ? "Ready." : "Tick consent to start.";
});
$("start").addEventListener("click", startCall);
$("stop").addEventListener("click", stopCall);
$("note-save").addEventListener("click", saveNote);
$("note-text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    saveNote();
  }
});

// test and diagnostics handle (no secrets in here: the page already sees all of it)
window.copilot = { callId, client: null, annotations, outbox: early, transcript, cards, recent,
  loaded: Promise.all([loadRecent(), loadCatalog()]) };
