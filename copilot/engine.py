"""Everything loaded once per process and shared by all calls: models, playbooks, store, pools.

Loading is blocking (seconds); the server runs :meth:`Engine.load` in a thread before it starts
listening. Model inference runs in the engine's executors, never on the event loop:
``decode_pool`` (Whisper; CTranslate2 releases the GIL; entered through ``decode_slots``, which
serves finals before partials across calls), ``analysis_pool`` (one thread: embedding
and retrieval), ``store_pool`` (one thread owns the SQLite connection).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from copilot.asr.scheduler import DecodeSlots
from copilot.asr.segmenter import SegmenterOptions
from copilot.asr.vad import SileroVad
from copilot.asr.whisper import WhisperDecoder
from copilot.config import Settings
from copilot.playbooks.model import PlaybookSet
from copilot.store.sqlite import EventStore

__all__ = ["Engine", "hotword_names"]

log = logging.getLogger(__name__)


def hotword_names(playbooks: PlaybookSet) -> list[str]:
    """Competitor names worth biasing the recogniser towards: one-word names only.

    Multi-word names ("MongoDB Atlas Search", "PostgreSQL full-text search") put ordinary words
    into the prompt, and the prompt then leaks into ordinary speech: with them, "How has the
    quarter been" came out "How has the MongoDB in" (BUGS S14). One-word brand names (Algolia,
    Typesense) are what tiny.en cannot spell unaided and gain most (bench_hotwords).
    """
    return [c.name for c in playbooks.competitors if len(c.name.split()) == 1]


@dataclass
class Engine:
    settings: Settings
    decoder: WhisperDecoder
    vad: SileroVad
    playbooks: PlaybookSet
    detector: object
    retriever: object | None
    store: EventStore
    load_seconds: dict[str, float] = field(default_factory=dict)
    decode_pool: ThreadPoolExecutor = field(init=False)
    #: who decodes next, across all calls: finals before partials (asr/scheduler.py)
    decode_slots: DecodeSlots = field(init=False)
    analysis_pool: ThreadPoolExecutor = field(init=False)
    store_pool: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self.decode_pool = ThreadPoolExecutor(
            max(1, self.settings.asr.workers), thread_name_prefix="asr"
        )
        self.decode_slots = DecodeSlots(max(1, self.settings.asr.workers))
        self.analysis_pool = ThreadPoolExecutor(1, thread_name_prefix="analysis")
        self.store_pool = ThreadPoolExecutor(1, thread_name_prefix="store")

    @classmethod
    def load(cls, settings: Settings) -> Engine:
        """Load models, playbooks and the store (blocking). Raises ConfigError/PlaybookError/…"""
        from copilot.detect.detector import Detector
        from copilot.playbooks.loader import load_playbooks
        from copilot.retrieve.embedder import Embedder
        from copilot.retrieve.hybrid import HybridRetriever

        timings: dict[str, float] = {}
        t = time.perf_counter()
        playbooks = load_playbooks(settings.playbooks_dir)
        timings["playbooks"] = time.perf_counter() - t

        t = time.perf_counter()
        decoder = WhisperDecoder(settings.asr)
        decoder.set_hotwords(hotword_names(playbooks), settings.asr.own_product)
        decoder.calibrate(settings.asr.final_encoder_budget_s)
        vad = SileroVad()
        timings["asr"] = time.perf_counter() - t

        t = time.perf_counter()
        embedder = Embedder.shared(settings.retrieval.embedding_model or None)
        index_dir = settings.retrieval.index_dir or str(Path(settings.store.path).parent / "index")
        retriever = HybridRetriever(
            playbooks, embedder, index_dir=index_dir, min_score=settings.retrieval.min_score
        )
        detector = Detector.from_playbooks(playbooks, embedder.encode)
        timings["retrieval"] = time.perf_counter() - t

        store = EventStore(settings.store.path)
        purged = store.purge_older_than(settings.store.retention_days)
        if purged:
            log.info("retention: purged %d calls older than %d days", purged,
                     settings.store.retention_days)
        return cls(settings, decoder, vad, playbooks, detector, retriever, store, timings)

    def segmenter_options(self) -> SegmenterOptions:
        a = self.settings.asr
        return SegmenterOptions(
            threshold=a.vad_threshold,
            min_silence_ms=a.min_silence_ms,
            speech_pad_ms=a.speech_pad_ms,
            partial_interval_s=a.partial_interval_s,
            max_utterance_s=a.max_utterance_s,
            soft_utterance_s=a.soft_utterance_s,
            long_silence_ms=a.long_silence_ms,
        )

    def close(self) -> None:
        for pool in (self.decode_pool, self.analysis_pool):
            pool.shutdown(wait=True, cancel_futures=True)
        self.store_pool.submit(self.store.close).result()
        self.store_pool.shutdown(wait=True)
