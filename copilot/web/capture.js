// Capture: microphone (the rep) and, optionally, a shared call tab (the customer).
//
// Both sources feed one AudioWorklet through a ChannelMerger, so the two speakers stay on
// separate channels (the server transcribes them separately; it never down-mixes). With only
// the microphone we send mono as speaker "unknown": one microphone in a room or on speaker
// phone hears both sides, and labelling it "rep" would make the server suppress suggestions
// for what the customer says (docs/widget.md).

const FRAME_MS = 40;

/**
 * Start capturing. Resolves to {channels, speakers, stop(), flush()}.
 * @param {object} opts
 * @param {boolean} opts.withTab  also ask for a call tab/screen with audio (getDisplayMedia)
 * @param {(pcm: Int16Array, samples: number) => void} opts.onFrame  16 kHz interleaved frames
 */
export async function startCapture({ withTab, onFrame }) {
  // Echo cancellation only when the customer has a channel of their own: then their voice
  // leaking from the speakers into the mic would be a duplicate. Mic-only, the mic is meant to
  // hear both sides. Noise suppression and AGC stay off: they smear speech that Whisper would
  // otherwise handle fine.
  const mic = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: !!withTab, noiseSuppression: false, autoGainControl: false },
  });
  let tab = null;
  if (withTab) {
    try {
      // video must be requested for tab audio in Chromium; we drop the video track at once
      tab = await navigator.mediaDevices.getDisplayMedia({ audio: true, video: true });
      tab.getVideoTracks().forEach((t) => t.stop());
      if (!tab.getAudioTracks().length) {
        tab = null;  // the user did not tick "share tab audio"
      }
    } catch {
      tab = null;    // refused or unsupported: carry on with the microphone alone
    }
  }
  const channels = tab ? 2 : 1;
  const speakers = tab ? ["rep", "customer"] : ["unknown"];

  const ctx = new AudioContext({ latencyHint: "interactive" });
  await ctx.audioWorklet.addModule("worklet.js");
  const node = new AudioWorkletNode(ctx, "capture-processor", {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    outputChannelCount: [1],
    channelCount: channels,
    channelCountMode: "explicit",
    channelInterpretation: "discrete",
    processorOptions: { channels, frameMs: FRAME_MS },
  });
  const merger = ctx.createChannelMerger(channels);
  // each merger input is down-mixed to one channel (a stereo mic becomes mono)
  ctx.createMediaStreamSource(mic).connect(merger, 0, 0);
  if (tab) ctx.createMediaStreamSource(new MediaStream(tab.getAudioTracks())).connect(merger, 0, 1);
  merger.connect(node);
  // the worklet writes silence; connecting it keeps the graph pulling it in every browser
  node.connect(ctx.destination);

  let flushed = null;
  let done = false;  // after the flush: frames still queued would arrive after `stop`
  node.port.onmessage = (e) => {
    if (e.data.type === "frame" && !done) onFrame(e.data.pcm, e.data.samples);
    else if (e.data.type === "flushed") {
      done = true;
      if (flushed) flushed();
    }
  };
  if (ctx.state === "suspended") await ctx.resume();

  return {
    channels,
    speakers,
    sampleRate: ctx.sampleRate,
    /** Post the last partial frame, stop the devices and close the graph. */
    async stop() {
      await new Promise((resolve) => {
        flushed = resolve;
        node.port.postMessage({ type: "flush" });
        setTimeout(resolve, 500);  // a closed/suspended context never answers
      });
      for (const s of [mic, tab]) if (s) s.getTracks().forEach((t) => t.stop());
      await ctx.close();
    },
  };
}
