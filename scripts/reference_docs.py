"""Write the reference pages generated from the code, so they cannot drift from it.

    PYTHONPATH=. .venv/bin/python scripts/reference_docs.py

docs/layers.md (layer specs), docs/api.md (the OpenAPI document), docs/settings.md (Settings)
and docs/errors.md (problem types); tests/scripts/ checks each committed page is current.
"""

import sys
from collections.abc import Callable
from pathlib import Path

from scripts.api_docs import API_PAGE, api_reference
from scripts.error_docs import ERRORS_PAGE, error_reference
from scripts.layer_docs import LAYERS_PAGE, ROOT, layer_reference
from scripts.settings_docs import SETTINGS_PAGE, settings_reference

PAGES: dict[Path, Callable[[], str]] = {
    LAYERS_PAGE: layer_reference,
    API_PAGE: api_reference,
    SETTINGS_PAGE: settings_reference,
    ERRORS_PAGE: error_reference,
}


def main() -> int:
    """Rewrite every generated page."""
    for page, render in PAGES.items():
        page.write_text(render())
        print(f"wrote {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
