from copilot.asr.hotwords import names_in, supported


def test_a_misheard_name_is_confirmed_by_its_sound_alike():
    assert supported("To be honest, Algolia quoted us", "To be honest, I'll go here quoted us",
                     "Algolia")
    assert supported("runs on Elasticsearch and", "runs on elastic search and", "Elasticsearch")
    assert supported("we compared Typesense", "we compared type sentence", "Typesense")
    assert supported("Honestly, Algolia was cheaper", "Honestly, I'll only once cheaper", "Algolia")
    assert supported("already runs Algolia in production", "already runs our goal in production",
                     "Algolia")
    # the stereo scripted call: the unprompted decode re-cut the words around the name, so its
    # edit block holds the neighbours too; "Elderly" alone (L-L) is Algolia's place
    assert supported("The Algolia answers in 120 milliseconds for us and your pilot",
                     "The Elderly and Sir Under 2020 Mille second for us and your pilot",
                     "Algolia", ["Algolia", "Elasticsearch", "Typesense"])


def test_a_name_the_prompt_invented_is_refused():
    # real SpokenWOZ call: "okay, perfect" came out "Algolia is perfect" with hotwords on
    assert not supported("Algolia is perfect.", "Okay, perfect.", "Algolia")
    assert not supported("has been confirmed an Algolia.", "has been confirmed.", "Algolia")
    assert not supported("so Algolia with the other one", "so I go with the other one", "Algolia")
    # one L in common is not enough: a SpokenWOZ restaurant call (8 kHz, 16 s finals' context)
    # and the 8 kHz scripted Elasticsearch call
    assert not supported("The car tab I think confirmed on Algolia.",
                         "The car tab I think confirmed and all the...", "Algolia")
    assert not supported("Algolia, here, run", "Hello, here, run", "Algolia")
    assert not supported("talking to Algolia about", "talking to our will you about", "Algolia")


def test_a_name_heard_as_another_prompted_name_is_refused():
    names = ["Algolia", "Elasticsearch", "Typesense"]
    # 8 kHz scripted call: the prompt turned "the Elastic…" into Algolia (L-K in both)
    assert not supported("It likes the idea of Algolia.", "It likes the idea of the Elastic.",
                         "Algolia", names)
    assert supported("It likes the idea of Elasticsearch.", "It likes the idea of the Elastic.",
                     "Elasticsearch", names)
    # real Algolia sound-alikes still sound more like Algolia than like the other names
    for heard in ("To be honest, I'll go here quoted us", "Honestly, I'll only once cheaper",
                  "already runs our goal in production"):
        biased = heard.replace("I'll go here", "Algolia").replace("I'll only once", "Algolia")
        biased = biased.replace("our goal in", "Algolia in")
        assert supported(biased, heard, "Algolia", names), heard


def test_names_in():
    assert names_in("We run Elasticsearch, not algolia.", ["Algolia", "Typesense",
                                                           "Elasticsearch"]) == [
        "Algolia", "Elasticsearch"]
    assert names_in("algolias", ["Algolia"]) == []
