"""service/negotiation.py: `format` wins over Accept; text only where Accept prefers it."""

import pytest

from service.negotiation import wants_text


@pytest.mark.parametrize(
    ("format_", "accept", "text"),
    [
        ("text", "application/json", True),
        ("json", "text/plain", False),
        (None, "text/plain", True),
        (None, None, False),
        (None, "*/*", False),
        (None, "text/*", False),
        (None, "application/json, text/plain;q=0.5", False),
        (None, "application/json;q=0.4, text/plain", True),
        (None, "text/plain;q=0.5, */*;q=0.1", True),
        (None, "text/plain;q=0", False),
        (None, "text/plain;q=oops", False),
        (None, "TEXT/PLAIN", True),
    ],
)
def test_wants_text(format_: str | None, accept: str | None, text: bool) -> None:
    assert wants_text(format_, accept) is text
