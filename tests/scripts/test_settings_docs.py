"""scripts/settings_docs.py: the committed settings page is current and says what Settings takes."""

import re

import pytest

from scripts.settings_docs import SETTINGS_PAGE, settings_reference
from service.settings import Settings


def test_the_committed_page_is_current() -> None:
    """Regenerate with `PYTHONPATH=. .venv/bin/python scripts/reference_docs.py`."""
    assert SETTINGS_PAGE.read_text() == settings_reference()


def test_each_documented_default_read_from_the_environment_is_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = re.findall(
        r"^\| `(LAYERSCOPE_\w+)` \| [^|]+ \| (unset|`[^`]*`)", settings_reference(), re.M
    )
    assert [name for name, _ in rows] == [f"LAYERSCOPE_{f.upper()}" for f in Settings.model_fields]
    for name, default in rows:
        if default != "unset":
            monkeypatch.setenv(name, default.strip("`"))
    assert Settings() == Settings.model_construct()  # every written default is the real one
