"""Text benchmark for detection and retrieval (no audio): quality, latency, and baselines.

Usage::

    .venv/bin/python eval/bench_text.py [--limit N] [--out eval/results/bench_text.json]

Sets (see eval/datasets/text/SOURCE.md): our labelled competitor claims and objections; hard
negatives (earnings21 sentences with ORG-tagged company names), non-sales real text (pyannote
sample conversation, ABCD customer-service turns) and RESPER resistance lines, read from
../shared/data at run time and never written out. Targets (issue): mention F1 ≥ 0.95, claim-type
macro-F1 ≥ 0.80, retrieval recall@3 ≥ 0.90, zero flags on non-sales real text.
Baselines in the same run: exact-name-only mention matching, cue-only claim typing, dense-only
retrieval.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from copilot.detect.claims import ClaimClassifier  # noqa: E402
from copilot.detect.detector import Detector  # noqa: E402
from copilot.detect.mentions import MentionDetector  # noqa: E402
from copilot.playbooks.loader import load_playbooks  # noqa: E402
from copilot.retrieve.embedder import Embedder  # noqa: E402
from copilot.retrieve.hybrid import HybridRetriever  # noqa: E402

__all__ = ["main", "run"]

DATA = ROOT / "eval" / "datasets" / "text"
SHARED = ROOT / ".." / "shared" / "data"
SUFFIX = {"pricing": "pricing", "feature_gap": "feature-gap", "integration": "integration",
          "performance": "performance", "security_compliance": "security", "support": "support",
          "contract_switching": "switching", "unspecified": "overview"}


def _tsv(path: Path) -> list[list[str]]:
    return [line.rstrip("\n").split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def earnings21_sentences(shared: Path) -> list[tuple[str, bool]]:
    """(sentence, has_ORG) from the earnings21 .nlp files (rebuilt from tokens)."""
    out: list[tuple[str, bool]] = []
    folder = shared / "earnings21-transcripts"
    for nlp in sorted(folder.glob("*.nlp")):
        tags = json.loads(nlp.with_suffix(".wer_tag.json").read_text())
        words: list[str] = []
        org = False
        for row in list(csv.reader(nlp.open(encoding="utf-8"), delimiter="|"))[1:]:
            token, punct = row[0], row[4]
            # entity ids sit in the tags ("7:ORG") and wer_tags ("36") columns
            ent = [*ast.literal_eval(row[6] or "[]"), *ast.literal_eval(row[7] or "[]")]
            words.append(token + punct)
            org |= any(e.endswith(":ORG") or tags.get(e.split(":")[0], {}).get("entity_type") == "ORG"
                       for e in ent)
            if punct in {".", "?", "!"}:
                out.append((" ".join(words), org))
                words, org = [], False
    return out


def non_sales_lines(shared: Path) -> list[str]:
    lines = [" ".join(row.split()[5:]) for row in
             (shared / "pyannote-sample-conversation" / "sample.stm").read_text().splitlines()]
    for convo in json.loads((shared / "abcd-customer-service" / "abcd_sample.json").read_text()):
        lines += [text for who, text in convo["original"] if who in ("customer", "agent")]
    return [line for line in lines if line.strip()]


def resper_lines(shared: Path) -> list[tuple[str, str]]:
    """(text, label) persuadee/buyer lines; label '' = no resistance strategy."""
    out: list[tuple[str, str]] = []
    with (shared / "resper-craigslistbargain-resistance" / "cb_resistance_shared.csv").open() as f:
        out += [(r["text"], r["resistance_label"] or "") for r in csv.DictReader(f)]
    with (shared / "resper-persuasionforgood-resistance" / "p4g_resistance_shared.csv").open() as f:
        out += [(r["unit"], "" if r["resistance_label"] in ("", "not-a-strategy") else
                 r["resistance_label"]) for r in csv.DictReader(f) if r["role"] == "1"]
    return out


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "tp": tp, "fp": fp, "fn": fn}


def _macro_f1(gold: list[str], pred: list[str]) -> float:
    labels = sorted(set(gold))
    f1s = []
    for lab in labels:
        tp = sum(g == lab and p == lab for g, p in zip(gold, pred, strict=True))
        fp = sum(g != lab and p == lab for g, p in zip(gold, pred, strict=True))
        fn = sum(g == lab and p != lab for g, p in zip(gold, pred, strict=True))
        f1s.append(_prf(tp, fp, fn)["f1"])
    return round(sum(f1s) / len(f1s), 4) if f1s else 0.0


def _pct(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    if not xs:
        return {"p50_ms": 0.0, "p95_ms": 0.0}
    return {"p50_ms": round(statistics.median(xs) * 1000, 3),
            "p95_ms": round(xs[min(len(xs) - 1, int(0.95 * len(xs)))] * 1000, 3)}


def _ranks(items: list[tuple[str, list[str]]]) -> dict[str, float]:
    r1 = r3 = mrr = 0.0
    for gold, got in items:
        if gold in got:
            pos = got.index(gold) + 1
            r1 += pos == 1
            r3 += pos <= 3
            mrr += 1.0 / pos
    n = max(1, len(items))
    return {"recall@1": round(r1 / n, 4), "recall@3": round(r3 / n, 4), "mrr": round(mrr / n, 4),
            "n": len(items)}


def run(limit: int | None = None, shared: Path = SHARED) -> dict:
    """Run the benchmark; ``limit`` caps every set (a quick smoke run)."""
    pb = load_playbooks(ROOT / "playbooks")
    emb = Embedder.shared()
    claims = _tsv(DATA / "competitor_claims.tsv")[:limit]
    objections = _tsv(DATA / "objections.tsv")[:limit]
    have_shared = shared.is_dir()
    negatives = earnings21_sentences(shared)[: limit or None] if have_shared else []
    nonsales = non_sales_lines(shared)[: limit or None] if have_shared else []
    resper = resper_lines(shared)[: limit or None] if have_shared else []

    detector = Detector.from_playbooks(pb, emb.encode)
    cue_only = ClaimClassifier(pb.sections)
    mentions = MentionDetector(pb.competitors)
    names = [(c.id, re.compile(rf"\b{re.escape(c.name)}\b", re.I)) for c in pb.competitors]

    def exact_only(text: str) -> set[str]:
        return {cid for cid, rx in names if rx.search(text)}

    # -- mentions: positives are the claim lines, negatives everything else ---------------
    systems: dict[str, Callable[[str], set[str]]] = {
        "detector": lambda t: {m.competitor_id for m in mentions.find(t)},
        "baseline_exact_name": exact_only,
    }
    labelled = [(t, {c}) for c, _, t in claims] + [(t, set()) for _, t in objections]
    labelled += [(t, set()) for t, _ in negatives] + [(t, set()) for t in nonsales]
    mention_res = {}
    for name, fn in systems.items():
        tp = fp = fn_ = 0
        for text, gold in labelled:
            got = fn(text)
            tp += len(got & gold)
            fp += len(got - gold)
            fn_ += len(gold - got)
        mention_res[name] = _prf(tp, fp, fn_)

    # -- claim typing on the competitor lines -------------------------------------------
    gold_types, pred_types, cue_types, det_lat, men_lat = [], [], [], [], []
    end_to_end = []
    for comp, ctype, text in claims:
        t0 = time.perf_counter()
        mentions.find(text)
        men_lat.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        found = detector.detect(text, "customer")
        det_lat.append(time.perf_counter() - t0)
        mine = next((d for d in found if d.competitor_id == comp), None)
        gold_types.append(ctype)
        pred_types.append(mine.claim_type if mine else "missed")
        cue_types.append(cue_only.classify(text)[0])
        end_to_end.append((comp, ctype, text, mine))

    # -- retrieval: oracle metadata, detected metadata, dense-only baseline ------------------
    retriever = HybridRetriever(pb, emb)
    index = retriever._index  # the same dense index, queried alone for the baseline
    oracle, detected, dense_only, ret_lat = [], [], [], []
    def gold_for(comp: str, ctype: str) -> str:
        # the competitor's section carrying the claim type; its overview when it has none
        for sec in pb.sections:
            if sec.competitor == comp and sec.kind == "battlecard" and ctype in sec.claim_types:
                return sec.id
        return f"{comp}/{SUFFIX['unspecified']}"

    for comp, ctype, text, mine in end_to_end:
        gold = gold_for(comp, ctype)
        t0 = time.perf_counter()
        hits = retriever.search(text, competitor_id=comp, claim_type=ctype, k=3)
        ret_lat.append(time.perf_counter() - t0)
        oracle.append((gold, [h.section.id for h in hits]))
        got = retriever.search(text, competitor_id=mine.competitor_id, claim_type=mine.claim_type,
                               k=3) if mine else []
        detected.append((gold, [h.section.id for h in got]))
        dense_only.append((gold, list(index.search(emb.encode([text])[0], k=3))))
    for otype, text in objections:
        found = detector.detect(text, "customer")
        obj = next((d for d in found if d.kind == "objection"), None)
        hits = retriever.search(text, claim_type=otype, k=3)
        gold_ids = [s.id for s in pb.sections if s.kind == "objection" and otype in s.claim_types]
        top = [h.section.id for h in hits]
        oracle.append((next((g for g in top if g in gold_ids), gold_ids[0]), top))
        got = [h.section.id for h in retriever.search(text, claim_type=obj.claim_type, k=3)] if obj else []
        detected.append((next((g for g in got if g in gold_ids), gold_ids[0]), got))
        dense = list(index.search(emb.encode([text])[0], k=3))
        dense_only.append((next((g for g in dense if g in gold_ids), gold_ids[0]), dense))
        gold_types.append(otype)
        pred_types.append(obj.claim_type if obj else "missed")
        cue_types.append((cue_only.objection(text) or ("missed",))[0])

    # -- zero flags on non-sales real text; objection behaviour on RESPER -----------------
    nonsales_flags = [(t, [(d.kind, d.claim_type) for d in detector.detect(t, "customer")])
                      for t in nonsales]
    neg_flags = [t for t, _ in negatives if any(d.kind == "competitor" for d in detector.detect(t))]
    resper_none = [t for t, lab in resper if not lab]
    resper_res = [t for t, lab in resper if lab]
    fp_none = sum(bool(detector.detect(t, "customer")) for t in resper_none)
    hit_res = sum(any(d.kind == "objection" for d in detector.detect(t, "customer")) for t in resper_res)

    return {
        "playbook_version": pb.version,
        "sizes": {"claims": len(claims), "objections": len(objections),
                  "earnings21_sentences": len(negatives),
                  "earnings21_with_org": sum(o for _, o in negatives),
                  "non_sales": len(nonsales), "resper": len(resper), "shared_data": have_shared},
        "mentions": mention_res,
        "claim_type_macro_f1": {"detector": _macro_f1(gold_types, pred_types),
                                "baseline_cue_only": _macro_f1(gold_types, cue_types)},
        "retrieval": {"hybrid_oracle_metadata": _ranks(oracle),
                      "hybrid_detected_metadata": _ranks(detected),
                      "baseline_dense_only": _ranks(dense_only)},
        "false_flags": {
            "non_sales_lines_flagged": sum(bool(f) for _, f in nonsales_flags),
            "non_sales_examples": [f for _, f in nonsales_flags if f][:5],
            "earnings21_competitor_flags": len(neg_flags),
            "resper_no_strategy_flagged": fp_none, "resper_no_strategy": len(resper_none),
            "resper_resistance_flagged_objection": hit_res, "resper_resistance": len(resper_res),
        },
        "latency": {"mentions": _pct(men_lat), "detect_with_embedding": _pct(det_lat),
                    "retrieve": _pct(ret_lat)},
    }


def _table(res: dict) -> str:
    m, r = res["mentions"], res["retrieval"]
    rows = [
        ("mention F1 (target ≥ 0.95)", m["detector"]["f1"], m["baseline_exact_name"]["f1"]),
        ("mention precision", m["detector"]["precision"], m["baseline_exact_name"]["precision"]),
        ("mention recall", m["detector"]["recall"], m["baseline_exact_name"]["recall"]),
        ("claim/objection macro-F1 (≥ 0.80)", res["claim_type_macro_f1"]["detector"],
         res["claim_type_macro_f1"]["baseline_cue_only"]),
        ("recall@3, oracle metadata (≥ 0.90)", r["hybrid_oracle_metadata"]["recall@3"],
         r["baseline_dense_only"]["recall@3"]),
        ("recall@1, oracle metadata", r["hybrid_oracle_metadata"]["recall@1"],
         r["baseline_dense_only"]["recall@1"]),
        ("recall@3, detected metadata", r["hybrid_detected_metadata"]["recall@3"], ""),
        ("MRR, oracle metadata", r["hybrid_oracle_metadata"]["mrr"], r["baseline_dense_only"]["mrr"]),
    ]
    out = [f"{'metric':40} {'ours':>8} {'baseline':>9}"]
    out += [f"{a:40} {b!s:>8} {c!s:>9}" for a, b, c in rows]
    out.append(f"false flags: {json.dumps(res['false_flags'])}")
    out.append(f"latency: {json.dumps(res['latency'])}")
    out.append(f"sizes: {json.dumps(res['sizes'])}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="cap every set (smoke run)")
    ap.add_argument("--out", default=str(ROOT / "eval" / "results" / "bench_text.json"))
    args = ap.parse_args(argv)
    res = run(args.limit)
    print(_table(res))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
