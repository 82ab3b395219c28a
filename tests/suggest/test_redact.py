"""Redaction: what must go (typed placeholders) and what a sales call needs kept."""

from __future__ import annotations

import pytest

from copilot.suggest.redact import luhn_ok, redact


@pytest.mark.parametrize(
    ("text", "secret", "placeholder"),
    [
        ("mail me at jane.doe+deals@acme.co.uk please", "jane.doe+deals@acme.co.uk", "[EMAIL]"),
        ("it's J.Smith@Example.com.", "J.Smith@Example.com", "[EMAIL]"),
        ("call me on 555-123-4567 tomorrow", "555-123-4567", "[PHONE]"),
        ("my cell is (415) 555-0134", "(415) 555-0134", "[PHONE]"),
        ("reach me at +1 415 555 0134", "+1 415 555 0134", "[PHONE]"),
        ("the London office is +44 20 7946 0958", "+44 20 7946 0958", "[PHONE]"),
        ("Berlin: +49 30 901820", "+49 30 901820", "[PHONE]"),
        ("ring 020 7946 0958 after lunch", "020 7946 0958", "[PHONE]"),
        ("just 4155550134", "4155550134", "[PHONE]"),
        ("card is 4111 1111 1111 1111 expiring", "4111 1111 1111 1111", "[CARD]"),
        ("amex 3782-822463-10005 ok", "3782-822463-10005", "[CARD]"),
        ("use 5555555555554444", "5555555555554444", "[CARD]"),
        ("IBAN DE89 3704 0044 0532 0130 00 thanks", "DE89 3704 0044 0532 0130 00", "[IBAN]"),
        ("wire to GB82WEST12345698765432", "GB82WEST12345698765432", "[IBAN]"),
        ("my ssn is 123-45-6789", "123-45-6789", "[SSN]"),
        ("social security number 123456789", "123456789", "[SSN]"),
        ("account number 12345678", "12345678", "[ACCOUNT]"),
        ("our acct # is 99 12 34 56 by the way", "99 12 34 56", "[ACCOUNT]"),
        ("customer id 00123987 on the invoice", "00123987", "[ACCOUNT]"),
    ],
)
def test_redacts_with_typed_placeholder(text: str, secret: str, placeholder: str) -> None:
    out, found = redact(text)
    assert secret not in out
    assert placeholder in out
    assert [r.placeholder for r in found] == [placeholder]
    # spans point into the original text
    assert text[found[0].start : found[0].end] == secret


@pytest.mark.parametrize(
    "text",
    [
        "Algolia quoted us $1,200 per month, and $49.99 for the add-on",
        "they are 15% cheaper and 2.5 percent faster",
        "we signed in 2019 and renew in 2024",
        "the renewal is on 2024-05-01 or 05/01/2024",
        "let's talk at 10:30 or 3:45 pm, 9:00-17:00 works too",
        "we are on version 2.10.4, upgrading to 12.1.0",
        "about 1,200,000 documents and 350 seats",
        "their index is 1200000 records",
        "the VPN is 192.168.100.200",
        "call me in 15 minutes about the 3 options",
        "one or two seats, maybe three four",
        "the ticket is order 1234567890123",  # 13 digits, fails Luhn, no keyword
        "we pay 4111 1111 1111 1112 dollars a decade",  # 16 digits, fails Luhn
        "Q3 revenue was 12,345,678",
    ],
)
def test_keeps_numbers_a_sales_call_needs(text: str) -> None:
    out, found = redact(text)
    assert found == []
    assert out == text


def test_several_kinds_in_one_utterance_keep_order_and_text_between() -> None:
    text = "Email bob@corp.io, phone 555-123-4567, card 4111-1111-1111-1111; price $300."
    out, found = redact(text)
    assert out == "Email [EMAIL], phone [PHONE], card [CARD]; price $300."
    assert [r.kind for r in found] == ["EMAIL", "PHONE", "CARD"]


def test_card_is_not_also_reported_as_phone() -> None:
    _, found = redact("4111 1111 1111 1111")
    assert [r.kind for r in found] == ["CARD"]


def test_account_keyword_does_not_reach_across_other_numbers() -> None:
    out, found = redact("the account has 12 seats; ping me at 555 123 4567")
    assert [r.kind for r in found] == ["PHONE"]
    assert "12 seats" in out


def test_spoken_phone_number_digit_words() -> None:
    out, found = redact("my number is five five five, one two three, four five six seven")
    assert [r.kind for r in found] == ["PHONE"]
    assert "seven" not in out and out.endswith("[PHONE]")


def test_spoken_run_with_double_counts_digits() -> None:
    # "double five" is two digits: 7 in all → redacted; six plain digit words are not
    _, found = redact("it's double five one two three four six")
    assert [r.kind for r in found] == ["PHONE"]
    assert redact("one two three four five six")[1] == []  # six digits: a count, not a number


def test_spoken_account_number_near_keyword() -> None:
    out, found = redact("the account number is four four two one nine nine eight")
    assert [r.kind for r in found] == ["ACCOUNT"]
    assert "nine" not in out


def test_nothing_to_redact_returns_same_string() -> None:
    text = "Elastic is cheaper for us"
    out, found = redact(text)
    assert out is text and found == []


@pytest.mark.parametrize(
    ("digits", "ok"),
    [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True)],
)
def test_luhn(digits: str, ok: bool) -> None:
    assert luhn_ok(digits) is ok
