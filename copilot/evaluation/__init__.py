"""Offline evaluation: datasets of labelled calls and the metrics that score each stage.

Pure building blocks for the ``copilot eval`` runner (see docs/eval.md): load a dataset, run the
pipeline on each :class:`Case`, then score with the functions in :mod:`.metrics`.
"""

from copilot.evaluation.adapters import Turn
from copilot.evaluation.dataset import Case, Dataset, LabelledMention, load_case, load_dataset
from copilot.evaluation.metrics import (
    Detection,
    MatchResult,
    Scores,
    WerResult,
    claim_type_macro_f1,
    detection_scores,
    detections_from_flags,
    false_flags_per_hour,
    latency_summary,
    match_detections,
    mean_reciprocal_rank,
    normalize_text,
    percentile,
    real_time_factor,
    recall_at_k,
    word_error_rate,
)

__all__ = [
    "Case",
    "Dataset",
    "Detection",
    "LabelledMention",
    "MatchResult",
    "Scores",
    "Turn",
    "WerResult",
    "claim_type_macro_f1",
    "detection_scores",
    "detections_from_flags",
    "false_flags_per_hour",
    "latency_summary",
    "load_case",
    "load_dataset",
    "match_detections",
    "mean_reciprocal_rank",
    "normalize_text",
    "percentile",
    "real_time_factor",
    "recall_at_k",
    "word_error_rate",
]
