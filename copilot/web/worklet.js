// AudioWorklet: capture -> 16 kHz Int16 frames for wire v1 (docs/protocol.md).
//
// Runs on the audio rendering thread. Each input channel is low-pass filtered and resampled to
// 16 kHz with a Blackman-windowed sinc kernel (cut-off just under the new Nyquist), so content
// above 8 kHz cannot alias into the speech band — naive sample picking would fold it down.
// Samples are clamped to [-1, 1] and scaled by 0x7FFF, interleaved (channel 0 = first speaker),
// and posted to the main thread in frames of `frameMs` (default 40 ms = 640 samples/channel).
//
// Contract (port messages): out {type:"frame", pcm: Int16Array (interleaved), samples: n per
// channel}; in {type:"flush"} posts whatever is pending (a short last frame), then {type:"flushed"}.

const OUT_RATE = 16000;
const HALF_TAPS = 16;     // kernel spans 2*HALF_TAPS input samples per output sample (scaled)
const PHASES = 64;        // fractional delay resolution of the precomputed kernel table

class Resampler {
  // One stateful resampler per channel: keeps a tail of history across render quanta.
  constructor(inRate, outRate) {
    this.step = inRate / outRate;                    // input samples per output sample
    const cutoff = Math.min(1, outRate / inRate) * 0.92;  // normalised to input Nyquist
    this.half = Math.ceil(HALF_TAPS * Math.max(1, this.step));
    this.taps = 2 * this.half;
    this.table = [];
    for (let p = 0; p <= PHASES; p++) {
      const frac = p / PHASES;
      const k = new Float32Array(this.taps);
      let sum = 0;
      for (let j = 0; j < this.taps; j++) {
        const x = j - this.half + 1 - frac;          // distance from the output instant
        const s = x === 0 ? 1 : Math.sin(Math.PI * cutoff * x) / (Math.PI * cutoff * x);
        const w = 0.42 + 0.5 * Math.cos(Math.PI * x / this.half)
          + 0.08 * Math.cos(2 * Math.PI * x / this.half);  // Blackman
        k[j] = Math.abs(x) >= this.half ? 0 : s * w;
        sum += k[j];
      }
      for (let j = 0; j < this.taps; j++) k[j] /= sum;  // unity gain at DC
      this.table.push(k);
    }
    this.hist = new Float32Array(0);
    this.pos = this.half - 1;  // next output instant, in input samples relative to hist[0]
  }

  push(input) {
    const buf = new Float32Array(this.hist.length + input.length);
    buf.set(this.hist);
    buf.set(input, this.hist.length);
    const out = [];
    while (this.pos + this.half < buf.length) {
      const base = Math.floor(this.pos);
      const frac = this.pos - base;
      const k = this.table[Math.round(frac * PHASES)];
      let acc = 0;
      const start = base - this.half + 1;
      for (let j = 0; j < this.taps; j++) {
        const i = start + j;
        if (i >= 0) acc += buf[i] * k[j];
      }
      out.push(acc);
      this.pos += this.step;
    }
    // keep only the history the next kernel can still reach
    const keepFrom = Math.max(0, Math.floor(this.pos) - this.half);
    this.hist = buf.slice(keepFrom);
    this.pos -= keepFrom;
    return out;
  }
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = options.processorOptions || {};
    this.channels = opts.channels || 1;
    this.frameSamples = Math.round(OUT_RATE * (opts.frameMs || 40) / 1000);
    this.resamplers = [];
    for (let c = 0; c < this.channels; c++) this.resamplers.push(new Resampler(sampleRate, OUT_RATE));
    this.pending = [];
    for (let c = 0; c < this.channels; c++) this.pending.push([]);
    this.port.onmessage = (e) => {
      if (e.data && e.data.type === "flush") {
        this.emit(true);
        this.port.postMessage({ type: "flushed" });
      }
    };
  }

  emit(all) {
    while (this.pending[0].length >= this.frameSamples || (all && this.pending[0].length > 0)) {
      const n = Math.min(this.frameSamples, this.pending[0].length);
      const pcm = new Int16Array(n * this.channels);
      for (let c = 0; c < this.channels; c++) {
        const src = this.pending[c];
        for (let i = 0; i < n; i++) {
          const v = Math.max(-1, Math.min(1, src[i]));
          pcm[i * this.channels + c] = Math.round(v * 0x7fff);
        }
        this.pending[c] = src.slice(n);
      }
      this.port.postMessage({ type: "frame", pcm, samples: n }, [pcm.buffer]);
    }
  }

  process(inputs) {
    const input = inputs[0];
    const quantum = (input && input[0] && input[0].length) || 128;
    for (let c = 0; c < this.channels; c++) {
      // a missing channel (e.g. the call tab stopped sharing) stays silent, keeping alignment
      const data = input && input[c] ? input[c] : new Float32Array(quantum);
      const out = this.resamplers[c].push(data);
      for (let i = 0; i < out.length; i++) this.pending[c].push(out[i]);
    }
    // channels can differ by one sample at a boundary; emit only what all of them have
    const have = Math.min(...this.pending.map((p) => p.length));
    if (have >= this.frameSamples) {
      const saved = this.pending.map((p) => p.slice(have));
      this.pending = this.pending.map((p) => p.slice(0, have));
      this.emit(false);
      this.pending = this.pending.map((p, c) => p.concat(saved[c]));
    }
    return true;
  }
}

registerProcessor("capture-processor", CaptureProcessor);
