"""The one size check of every picture the service draws, made before it is drawn."""

from service.errors import ProblemError, field_error

SETTING = "LAYERSCOPE_MAX_RENDER_PIXELS"


def check_pixels(
    width: int, height: int, max_pixels: int, field: str, *, how: str = "", fix: str
) -> None:
    """413 `render-too-large` at `field` for a picture of more than `max_pixels` pixels (the
    value of LAYERSCOPE_MAX_RENDER_PIXELS); `how` says how it is made up (" (20 tiles of ...)"),
    `fix` what to change ("lower `scale` or ...")."""
    if width * height <= max_pixels:
        return
    raise ProblemError(
        413,
        "render-too-large",
        f"this picture would be {width} x {height} = {width * height:,} pixels{how}, over the "
        f"limit of {max_pixels:,} ({SETTING}); {fix}",
        title="Picture too large",
        errors=[field_error(field, f"{width} x {height} pixels", "lower scale", "too_many_pixels")],
        context={"width": width, "height": height, "limit_pixels": max_pixels, "setting": SETTING},
    )
