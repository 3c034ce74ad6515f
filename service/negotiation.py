"""Content negotiation: which representation a client asked for."""


def preferences(accept: str | None) -> dict[str, float]:
    """The quality of each media type an Accept header names (its best, lower-cased)."""
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
    return best


def wants_text(format_: str | None, accept: str | None) -> bool:
    """Decide text or JSON: `format` wins; else text when Accept prefers text/plain to JSON."""
    if format_ is not None:
        return format_ == "text"
    best = preferences(accept)
    text = best.get("text/plain", 0.0)
    json = max(best.get("application/json", 0.0), best.get("*/*", 0.0) * 0.99)
    return text > 0 and text >= json


SAFETENSORS = "application/x-safetensors"


def encoding_for(requested: str, accept: str | None) -> str:
    """The encoding a response uses: the request's `encoding`, unless it left the default and
    Accept prefers a safetensors body to JSON."""
    if requested != "json":
        return requested
    best = preferences(accept)
    binary = best.get(SAFETENSORS, 0.0)
    json = max(best.get("application/json", 0.0), best.get("*/*", 0.0) * 0.99)
    return "safetensors" if binary > 0 and binary >= json else requested
