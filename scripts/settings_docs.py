"""docs/settings.md, generated from `service.settings.Settings` (names, types, defaults, notes)."""

from pathlib import Path
from typing import Any

from scripts.schema_text import describe_type
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_PAGE = ROOT / "docs" / "settings.md"
ENV_PREFIX = str(Settings.model_config.get("env_prefix", ""))


def env_name(field: str) -> str:
    """The environment variable that sets one field: `LAYERSCOPE_<FIELD>`."""
    return f"{ENV_PREFIX}{field}".upper()


def default_text(field: str) -> str:
    """A field's default as an environment value would be written (lists comma-joined)."""
    info = Settings.model_fields[field]
    value: Any = info.get_default(call_default_factory=True)
    if value is None or value == []:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if field.endswith("_bytes") and value % (1 << 20) == 0:
        return f"`{value}` ({value >> 20} Mi)"
    return f"`{value}`" if not isinstance(value, list) else f"`{','.join(map(str, value))}`"


def settings_reference() -> str:
    """The settings page (Markdown): one row per field of `Settings`."""
    schema = Settings.model_json_schema()
    rows = []
    for field, info in Settings.model_fields.items():
        prop = schema["properties"][field]
        kind = describe_type({k: v for k, v in prop.items() if k != "default"})
        note = " ".join((info.description or "").split())
        rows.append(f"| `{env_name(field)}` | {kind} | {default_text(field)} | {note} |")
    example = f"{env_name('device')}=cpu {env_name('api_keys')}=key-one,key-two layerscope serve"
    return (
        "\n".join(
            [
                "# Settings",
                "",
                "Generated from `service/settings.py` by `scripts/reference_docs.py`; a test "
                "checks it is current. Every setting is an environment variable with the prefix "
                f"`{ENV_PREFIX}` (as MLServer names its settings); `layerscope serve --help` "
                "shows the command-line flags that override some of them. A value out of range "
                "stops the service at start-up with the variable named.",
                "",
                "| variable | accepts | default | what it does |",
                "| --- | --- | --- | --- |",
                *rows,
                "",
                "For example (`docker-compose.yml` sets them the same way):",
                "",
                "```bash",
                example,
                "```",
            ]
        )
        + "\n"
    )
