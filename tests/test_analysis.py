from dataclasses import dataclass

from copilot.analysis import CallAnalyzer
from copilot.events import Source, Transcript
from copilot.playbooks.model import Section


@dataclass
class D:
    kind: str
    competitor_id: str | None
    competitor_name: str | None
    claim_type: str
    evidence: str
    char_start: int
    char_end: int
    confidence: float


class FakeDetector:
    def detect(self, text, speaker="unknown"):
        out = []
        if "algolia" in text.lower():
            i = text.lower().index("algolia")
            claim = "pricing" if "price" in text.lower() else "unspecified"
            out.append(D("competitor", "algolia", "Algolia", claim, "Algolia", i, i + 7, 0.9))
        if "no budget" in text.lower():
            out.append(D("objection", None, None, "budget", "no budget", 0, 9, 0.85))
        return out


@dataclass
class Hit:
    section: Section
    score: float


def sec(sid):
    return Section(id=sid, file="competitors/algolia.md", title=sid, kind="battlecard",
                   text="", reply=f"reply for {sid}")


class FakeRetriever:
    def __init__(self, gate=0.5):
        self.gate = gate

    def search(self, query, *, competitor_id=None, claim_type=None, context=(), k=3):
        if "weather" in query:
            return []  # below the confidence gate
        return [Hit(sec(f"{competitor_id or 'objections'}/{claim_type}"), 0.8)]


def compose(detection, hits, version):
    return hits[0].section.reply, (Source("f.md", hits[0].section.id, "t", version),)


class Cooldown:
    def __init__(self, window):
        self.window, self.last = window, {}

    def ready(self, sid, now):
        return sid not in self.last or now - self.last[sid] >= self.window

    def mark(self, sid, now):
        self.last[sid] = now

    def unmark(self, sid, at):
        if self.last.get(sid) == at:
            del self.last[sid]


def t(text, seg="customer-0", final=True, speaker="customer", start=10.0, end=14.0):
    return Transcript(segment_id=seg, speaker=speaker, start=start, end=end, text=text,
                      final=final)


def analyzer(**kw):
    return CallAnalyzer(FakeDetector(), FakeRetriever(), compose, playbook_version="v9",
                        cooldown=Cooldown(120), **kw)


def test_partial_flags_early_and_final_refines_the_same_flag():
    a = analyzer()
    first = a.on_transcript(t("we use Algolia", final=False))
    assert len(first) == 1 and first[0].flag.from_partial
    assert first[0].flag.claim_type == "unspecified"
    again = a.on_transcript(t("we use Algolia today", final=False))
    assert again == []  # same mention, not flagged twice
    final = a.on_transcript(t("we use Algolia and their price is lower"))
    assert len(final) == 1
    assert final[0].flag.flag_id == first[0].flag.flag_id
    assert final[0].flag.claim_type == "pricing" and not final[0].flag.from_partial


def test_mention_time_is_placed_inside_the_utterance():
    f = analyzer().on_transcript(t("0123456789 Algolia", start=10.0, end=12.0))[0].flag
    assert 10.0 < f.start < f.end <= 12.0


def test_rep_mentions_are_flagged_but_get_no_suggestion():
    a = analyzer()
    d = a.on_transcript(t("unlike Algolia we bill flat", speaker="rep", seg="rep-0"))[0]
    assert d.flag.speaker == "rep" and a.suggest(d, 20.0) is None


def test_suggestion_cites_sources_and_cooldown_blocks_repeats():
    a = analyzer()
    d1 = a.on_transcript(t("Algolia price is half", seg="customer-1"))[0]
    p1 = a.suggest(d1, 15.0)
    assert p1 is not None and p1.sections[0].id == "algolia/pricing"
    s1 = p1.suggestion
    assert s1.flag_id == d1.flag.flag_id
    assert s1.sources[0].section == "algolia/pricing" and s1.sources[0].version == "v9"
    d2 = a.on_transcript(t("Algolia price again", seg="customer-2"))[0]
    assert a.suggest(d2, 60.0) is None  # same section within the cooldown
    d3 = a.on_transcript(t("Algolia price once more", seg="customer-3"))[0]
    assert a.suggest(d3, 200.0) is not None


def test_off_topic_gets_no_card_and_objections_are_flagged():
    a = analyzer()
    d = a.on_transcript(t("there is no budget, and the weather is nice"))
    assert [x.flag.kind for x in d] == ["objection"]
    assert a.suggest(d[0], 5.0) is None  # retriever found nothing above its gate
    assert a.on_transcript(t("")) == []


def test_flag_time_follows_the_name_not_an_earlier_claim_cue():
    @dataclass
    class DM(D):
        mention_start: int = -1
        mention_end: int = -1

    class CueFirst(FakeDetector):
        def detect(self, text, speaker="unknown"):
            i = text.index("Algolia")
            return [DM("competitor", "algolia", "Algolia", "performance", text[: i + 7], 0, i + 7,
                       0.9, i, i + 7)]

    a = CallAnalyzer(CueFirst(), None, None, playbook_version="v")
    text = "fast results matter a lot to us and Algolia"
    f = a.on_transcript(t(text, start=0.0, end=10.0))[0].flag
    assert f.start == round(10.0 * text.index("Algolia") / len(text), 3)


class CarryingDetector(FakeDetector):
    """Also types a claim where the name was lost (as Detector.claim_near does)."""

    def claim_near(self, text, pos, competitor_id, untyped_confidence, speaker="unknown"):
        if "price" not in text.lower():
            return None
        i = text.lower().index("price")
        return D("competitor", competitor_id, "Algolia", "pricing", "price", i, i + 5, 0.8)


def test_final_that_lost_the_name_still_types_the_partials_flag():
    a = CallAnalyzer(CarryingDetector(), FakeRetriever(), compose, playbook_version="v9",
                     cooldown=Cooldown(120))
    (first,) = a.on_transcript(t("we use Algolia", final=False))
    assert first.flag.claim_type == "unspecified"
    (final,) = a.on_transcript(t("we use a goalie and their price is lower"))
    assert final.flag.flag_id == first.flag.flag_id
    assert final.flag.claim_type == "pricing" and not final.flag.from_partial
    # a final with no claim at the name's place gives the flag no support: retracted
    b = CallAnalyzer(CarryingDetector(), FakeRetriever(), compose, playbook_version="v9")
    b.on_transcript(t("we use Algolia", final=False))
    (gone,) = b.on_transcript(t("we use a goalie today"))
    assert gone.flag.retracted and gone.flag.flag_id == first.flag.flag_id


def test_final_that_confirms_the_partial_sends_nothing_new():
    a = analyzer()
    a.on_transcript(t("we use Algolia", final=False))
    assert a.on_transcript(t("we use Algolia today")) == []
    assert a.flag_count == 1


def test_partial_flag_the_final_does_not_hear_is_retracted_with_its_card():
    from copilot.retrieve.cooldown import Cooldown as RealCooldown

    a = CallAnalyzer(FakeDetector(), FakeRetriever(), compose, playbook_version="v9",
                     cooldown=RealCooldown(120))
    (d,) = a.on_transcript(t("I spoke with Algolia", final=False, seg="customer-1"))
    assert a.suggest(d, 12.0) is not None  # the card went out on the partial
    (r,) = a.on_transcript(t("I spoke with our data team", seg="customer-1"))
    assert r.flag.retracted and r.flag.flag_id == d.flag.flag_id
    assert not r.needs_suggestion and a.suggest(r, 14.0) is None
    assert a.flag_count == 0
    # the withdrawn card does not hold its section in the cooldown: a real mention gets it
    (d2,) = a.on_transcript(t("we use Algolia", seg="customer-2"))
    assert not d2.flag.retracted and d2.flag.flag_id != d.flag.flag_id
    assert a.suggest(d2, 30.0) is not None
    # a flag the final raised itself is never retracted by a later segment
    assert a.on_transcript(t("nothing here", seg="customer-3")) == []
    assert a.flag_count == 1


def test_partial_objection_gone_from_the_final_and_empty_final_retract():
    a = analyzer()
    (o,) = a.on_transcript(t("there is no budget", final=False, seg="customer-1"))
    (r,) = a.on_transcript(t("there is a budget", seg="customer-1"))
    assert o.flag.kind == "objection" and r.flag.retracted
    (d,) = a.on_transcript(t("Algolia", final=False, seg="customer-2"))
    # the final was judged no speech: the segment's flags go with its partials
    (r2,) = a.on_transcript(t("", seg="customer-2"))
    assert r2.flag.retracted and r2.flag.flag_id == d.flag.flag_id
    assert a.on_transcript(t("", final=False, seg="customer-3")) == []


def test_partial_raises_an_objection_on_its_cue_words_below_the_gate():
    @dataclass
    class DC(D):
        method: str = ""

    class CueObjection(FakeDetector):
        def detect(self, text, speaker="unknown"):
            if "not the right time" not in text:
                return []
            i = text.index("not the right time")
            return [DC("objection", None, None, "timing", "not the right time", i, i + 18, 0.58,
                       "cue")]

    a = CallAnalyzer(CueObjection(), FakeRetriever(), compose, playbook_version="v9")
    (d,) = a.on_transcript(t("it's not the right time we are in the", final=False))
    assert d.flag.from_partial and d.flag.kind == "objection"
    assert a.suggest(d, 12.0) is not None  # its card goes out on the partial
    # a look-alike name below the gate still waits for the final
    class Guess(FakeDetector):
        def detect(self, text, speaker="unknown"):
            return [DC("competitor", "algolia", "Algolia", "unspecified", "all go", 0, 6, 0.5,
                       "phonetic")]

    b = CallAnalyzer(Guess(), None, None, playbook_version="v9")
    assert b.on_transcript(t("all go here", final=False)) == []
    assert len(b.on_transcript(t("all go here"))) == 1


def test_claim_at_the_lost_names_place_is_not_carried_when_another_competitor_owns_it():
    class Both(CarryingDetector):
        def detect(self, text, speaker="unknown"):
            out = super().detect(text, speaker)
            if "Typesense" in text:
                i = text.index("Typesense")
                out.append(D("competitor", "typesense", "Typesense", "pricing", "Typesense", i,
                             i + 9, 0.9))
            return out

    a = CallAnalyzer(Both(), None, None, playbook_version="v9")
    a.on_transcript(t("we like Algolia, Typesense", final=False, start=0.0, end=4.0))
    out = a.on_transcript(t("we like the Typesense price", start=0.0, end=4.0))
    by = {d.flag.competitor: d.flag for d in out}
    assert by["algolia"].retracted  # the price claim is Typesense's, not the lost name's
    assert "typesense" not in by and a.flag_count == 1  # confirmed as sent: nothing re-sent
