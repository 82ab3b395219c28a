// CallClient: one call's websocket (wire v1, docs/protocol.md) with resume.
//
// Audio frames are kept in a bounded buffer indexed by absolute sample offset (samples per
// channel since the call's first sample). After a drop the client reconnects with backoff,
// sends the same `start`, and `ready.resumed_from` (seconds the server already has) says where
// to resume: frames are re-sent from exactly that sample, so nothing is lost or duplicated
// even when frames were in flight when the socket died. Transcript events carry
// `audio_received`, which acknowledges audio and lets the buffer drop what the server has.
//
// No DOM here: the UI subscribes with `on(type, fn)`; "status" reports connection changes.

export const RATE = 16000;

export class CallClient {
  /**
   * @param {object} opts
   * @param {string} opts.url       ws(s)://host:port/v1/calls/{call_id}
   * @param {object} opts.start     the `start` message (re-sent unchanged on every reconnect)
   * @param {number} [opts.maxBufferS=120]  audio kept for resume; older audio is dropped
   * @param {number} [opts.pingMs=15000]    app-level ping period (browsers send no keepalive)
   */
  constructor({ url, start, maxBufferS = 120, pingMs = 15000 }) {
    this.url = url;
    this.start = { type: "start", ...start };
    this.channels = this.start.channels || 1;
    this.maxBufferSamples = maxBufferS * RATE;
    this.pingMs = pingMs;
    this.handlers = {};
    this.buffer = [];          // [{offset, samples, pcm: Int16Array}] oldest first
    this.captured = 0;         // samples per channel captured so far (next frame's offset)
    this.sent = 0;             // offset up to which audio went out on the current socket
    this.acked = 0;            // offset the server confirmed (ready.resumed_from / audio_received)
    this.lost = 0;             // samples dropped because the buffer overflowed while offline
    this.ws = null;
    this.ready = false;
    this.stopping = false;
    this.ended = false;
    this.attempt = 0;
    this.reconnects = 0;
    this.pending = new Map();  // annotation_id -> {msg, inFlight}, until its last ack
    this.timer = null;
    this.holdUntil = 0;
    this.resumedFrom = null;   // last ready.resumed_from (seconds)
  }

  on(type, fn) {
    (this.handlers[type] = this.handlers[type] || []).push(fn);
    return this;
  }

  emit(type, data) {
    for (const fn of this.handlers[type] || []) fn(data);
    for (const fn of this.handlers["*"] || []) fn(data);
  }

  connect() {
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.ready = false;
    this.emit("status", { state: this.reconnects ? "reconnecting" : "connecting" });
    ws.onopen = () => ws.send(JSON.stringify(this.start));
    ws.onmessage = (e) => this.onMessage(e.data);
    ws.onclose = () => this.onClose(ws);
    ws.onerror = () => {};  // onclose follows and handles it
  }

  onMessage(raw) {
    let ev;
    try { ev = JSON.parse(raw); } catch { return; }
    if (ev.type === "ready") {
      this.ready = true;
      this.attempt = 0;
      this.resumedFrom = ev.resumed_from || 0;
      this.ackTo(Math.round((ev.resumed_from || 0) * RATE));
      this.sent = this.acked;
      this.flushAudio();
      // annotations not yet acknowledged go again; the same id only adds a revision
      for (const p of this.pending.values()) {
        p.inFlight = 1;  // whatever was in flight on the dead socket is gone
        this.ws.send(JSON.stringify(p.msg));
      }
      this.startPing();
      this.emit("status", { state: "live", resumedFrom: ev.resumed_from || 0 });
      // `stop` pressed while offline: finish now that the audio is through
      if (this.stopping) this.ws.send(JSON.stringify({ type: "stop" }));
    } else if (ev.type === "transcript" && typeof ev.audio_received === "number") {
      this.ackTo(Math.round(ev.audio_received * RATE));
    } else if (ev.type === "annotation_ack") {
      const p = this.pending.get(ev.annotation_id);
      // a revision sent after this one is still on its way: keep it pending
      if (p && --p.inFlight <= 0) this.pending.delete(ev.annotation_id);
    } else if (ev.type === "ended") {
      this.ended = true;
    }
    this.emit(ev.type, ev);
  }

  onClose(ws) {
    if (ws !== this.ws) return;
    this.ready = false;
    this.stopPing();
    if (this.ended) {
      this.emit("status", { state: "ended" });
      return;
    }
    this.reconnects += 1;
    // exponential backoff with jitter, capped: 0.5 s, 1 s, 2 s, 4 s, 5 s...
    const backoff = Math.min(5000, 500 * 2 ** this.attempt) * (0.8 + 0.4 * Math.random());
    const delay = Math.max(backoff, (this.holdUntil || 0) - Date.now());
    this.attempt += 1;
    this.emit("status", { state: "offline", retryInMs: Math.round(delay) });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** The server has audio up to `offset`: older frames are no longer needed for resume. */
  ackTo(offset) {
    this.acked = Math.max(this.acked, Math.min(offset, this.captured));
    while (this.buffer.length && this.buffer[0].offset + this.buffer[0].samples <= this.acked
           && this.buffer[0].offset + this.buffer[0].samples <= this.sent) {
      this.buffer.shift();
    }
  }

  /** Queue one captured frame (interleaved Int16, `samples` per channel) and send if live. */
  pushAudio(pcm, samples) {
    if (this.stopping) return;  // audio after `stop` would never be sent
    this.buffer.push({ offset: this.captured, samples, pcm });
    this.captured += samples;
    // bounded: while offline, the oldest audio goes first (and is counted as lost)
    while (this.buffer.length && this.captured - this.buffer[0].offset > this.maxBufferSamples) {
      const old = this.buffer.shift();
      if (old.offset + old.samples > this.sent) {
        this.lost += old.offset + old.samples - Math.max(old.offset, this.sent);
        this.sent = Math.max(this.sent, old.offset + old.samples);
      }
    }
    this.flushAudio();
  }

  flushAudio() {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    for (const f of this.buffer) {
      const end = f.offset + f.samples;
      if (end <= this.sent) continue;
      // resume can land inside a frame: send only its unsent tail
      const skip = Math.max(0, this.sent - f.offset);
      const pcm = skip ? f.pcm.subarray(skip * this.channels) : f.pcm;
      this.ws.send(pcm);
      this.sent = end;
    }
  }

  /** Send an annotation; it stays pending (and is re-sent after a reconnect) until acked. */
  annotate(msg) {
    const full = { type: "annotate", ...msg };
    const p = this.pending.get(full.annotation_id) || { inFlight: 0 };
    p.msg = full;  // a re-send after reconnect carries the latest revision only
    this.pending.set(full.annotation_id, p);
    if (this.ready && this.ws.readyState === WebSocket.OPEN) {
      p.inFlight += 1;
      this.ws.send(JSON.stringify(full));
    }
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (this.ready && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify({ type: "ping" }));
      }
    }, this.pingMs);
  }

  stopPing() {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  /** End of audio: the server flushes every stage, sends `ended` and closes. */
  stop() {
    this.stopping = true;
    if (this.ready && this.ws.readyState === WebSocket.OPEN) {
      this.flushAudio();
      this.ws.send(JSON.stringify({ type: "stop" }));
    }
  }

  /**
   * Test/diagnostic hook: drop the socket as a network failure would (no `stop`), and stay
   * offline for at least `offlineMs` (audio keeps buffering meanwhile).
   */
  dropConnection(offlineMs = 0) {
    this.holdUntil = Date.now() + offlineMs;
    if (this.ws) this.ws.close(4000, "simulated drop");
  }
}
