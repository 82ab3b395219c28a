from copilot.asr.guards import (
    collapse_doubled,
    collapse_repeats,
    compression_ratio,
    drop_echo,
    has_loop,
    is_hallucination,
)


def test_loops_are_collapsed_to_one_copy():
    assert collapse_repeats("and asked and asked and asked and asked") == "and asked"
    assert collapse_repeats("the price the price the price is high") == "the price is high"
    assert collapse_repeats("And so my fellow Americans. And so my fellow Americans.") == (
        "And so my fellow Americans.")


def test_spoken_repetition_below_the_threshold_is_kept():
    assert collapse_repeats("we want we want more") == "we want we want more"
    assert collapse_repeats("no no I said no") == "no no I said no"
    assert not has_loop("ask what you can do for your country")


def test_compression_ratio_sees_repetition():
    assert compression_ratio("hello " * 40) > 2.4 > compression_ratio("a normal sentence here")


def test_stock_outro_on_silence_is_dropped_but_real_thanks_kept():
    assert is_hallucination("Thank you.", no_speech_prob=0.5, avg_logprob=-0.4)
    assert is_hallucination("anything at all", no_speech_prob=0.8, avg_logprob=-1.3)
    assert not is_hallucination("Thank you.", no_speech_prob=0.05, avg_logprob=-0.2)
    assert is_hallucination("   ", 0.0, 0.0)


def test_whole_utterance_doubling():
    assert collapse_doubled("3 3") == "3"
    assert collapse_doubled("Twelve. Twelve.") == "Twelve."
    assert collapse_doubled("one two") == "one two"
    assert collapse_doubled("11 12 12") == "11 12"
    assert collapse_doubled("we want it") == "we want it"


def test_hyphen_joined_loop_is_seen_and_collapsed() -> None:
    # one whitespace token on an 8 kHz call; the n-gram test must see its pieces
    text = "It likes the idea of the Elasticsearch already looked 3-10-" + "-".join(["0"] * 24)
    assert has_loop(text, min_repeats=4)
    assert collapse_repeats(text).endswith("looked 3-10-0")
    # a number read out with a repeated digit is not a loop
    assert not has_loop("call me at 555-0-0-1", min_repeats=4)
    assert collapse_repeats("call me at 555-0-0-1") == "call me at 555-0-0-1"
    commas = "already looked 3," + ",".join(["000"] * 20)
    assert has_loop(commas, min_repeats=4)
    assert collapse_repeats(commas) == "already looked 3,000"
    assert not has_loop("a budget of 1,000,000,000 dollars", min_repeats=4)
    assert collapse_repeats("it costs 2,000,000") == "it costs 2,000,000"
    dots = "Elasticsearch already, but 3.0." + ".".join(["5"] * 22) + "."
    assert has_loop(dots, min_repeats=4)
    assert collapse_repeats(dots) == "Elasticsearch already, but 3.0.5."
    assert not has_loop("we run version 1.1.1 of it, that is 2.5 times faster.", min_repeats=4)


def test_an_echo_too_fast_for_its_audio_is_cut() -> None:
    # tiny.en on 3.0 s of JFK, 8 s of padded context: the phrase again after a word of its own
    echo = ("Ask what you can do for your country. I ask what you can do for your country.")
    assert drop_echo(echo, 3.0) == "Ask what you can do for your country."
    # the same words over audio long enough to hold them were said twice: kept
    assert drop_echo(echo, 6.0) == echo
    # a spoken restart at a plausible rate is kept; a short phrase is never an echo
    restart = "we want to make sure, I mean, we want to make sure it scales"
    assert drop_echo(restart, 4.0) == restart
    assert drop_echo("no no no I said no no", 1.0) == "no no no I said no no"
    assert drop_echo("", 1.0) == ""


def test_a_run_of_bare_dots_is_a_loop() -> None:
    assert has_loop("The... ... ... ... ... ... ...")
    assert not has_loop("Well... I mean... maybe.")
    assert not has_loop("Wait - what - no.")
