"""Report scrubbing keeps ids, file names and URL structure readable; contacts still go."""

from __future__ import annotations

import pytest

from curation.pii.scrub import scrub, snippet

READABLE = [
    "CC-MAIN-20230101123456-20230101143456-00001.warc.gz:17",
    "crawl-data/CC-MAIN-2023-06/segments/1674764494826.88/warc/"
    "CC-MAIN-20230126210844-20230127000844-00000.warc.gz",
    "urn:uuid:6eedc070-2976-5bbe-9e39-cff309130985",
    "part-00017.jsonl.gz:123456789012",
    "https://www.example.com/2023/01/15/a-story",
    "4111111111111112",  # fails the Luhn check
    "4111-1111 1111-1111",  # two separators: not how a card is written
]


@pytest.mark.parametrize("value", READABLE)
def test_ids_and_names_stay_readable(value: str) -> None:
    assert scrub(value) == value


def test_contacts_and_cards_are_still_scrubbed() -> None:
    text = ("mail ana.lopez@example.org, call +1 415-555-0132, card 4111 1111 1111 1111 or "
            "5500-0000-0000-0004 or 378282246310005, see https://shop.example/cart?user=ana#x")
    assert scrub(text) == ("mail <EMAIL>, call <PHONE>, card <CREDIT_CARD> or <CREDIT_CARD> "
                           "or <CREDIT_CARD>, see https://shop.example/cart?<QUERY>")
    assert snippet("id CC-MAIN-20230101123456-x.warc.gz:3 by bob@mail.example") == \
        "id CC-MAIN-20230101123456-x.warc.gz:3 by <EMAIL>"
