"""Content negotiation: which representation a client asked for."""


def wants_text(format_: str | None, accept: str | None) -> bool:
    """Decide text or JSON: `format` wins; else text when Accept prefers text/plain to JSON."""
    if format_ is not None:
        return format_ == "text"
    best: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best[media.lower()] = max(best.get(media.lower(), 0.0), quality)
    text = best.get("text/plain", 0.0)
    json = max(best.get("application/json", 0.0), best.get("*/*", 0.0) * 0.99)
    return text > 0 and text >= json
