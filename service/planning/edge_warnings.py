"""Warnings for layers that fit but silently drop trailing rows or columns of their input."""

from schemas.layer_specs import LayerSpec, ntuple

WINDOWED = frozenset(
    {"Conv1d", "Conv2d", "Conv3d", "MaxPool1d", "MaxPool2d", "MaxPool3d"}
    | {"AvgPool1d", "AvgPool2d", "AvgPool3d", "LPPool1d", "LPPool2d"}
)
"""Layers whose windows slide with floor rounding (transposed convolutions grow instead)."""
EDGES = {
    1: (("element", "length", "end"),),
    2: (("row", "height", "bottom"), ("column", "width", "right")),
    3: (("slice", "depth", "back"), ("row", "height", "bottom"), ("column", "width", "right")),
}


def dropped_edges(
    spec: LayerSpec, input_shape: list[int], output_shape: list[int], who: str
) -> list[str]:
    """Warn where a conv or pool's last window stops short of the padded input's end.

    With floor rounding (PyTorch's default) that happens exactly when
    (in + 2*padding - dilation*(kernel-1) - 1) is not divisible by the stride: the remainder
    rows (bottom) or columns (right) are never seen. A pool with `ceil_mode=True` adds a last,
    partial window instead, so it warns only where PyTorch still leaves rows out (a window that
    would start in the right padding is dropped). Measured from the actual output size, so both
    cases are exact.
    """
    n = spec.SPATIAL_DIMS
    if spec.TORCH_CLASS not in WINDOWED or n is None or getattr(spec, "padding", 0) == "same":
        return []
    padding_arg = getattr(spec, "padding", 0)
    kernel = ntuple(getattr(spec, "kernel_size"), n)  # noqa: B009
    dilation = ntuple(getattr(spec, "dilation", 1), n)
    stride_arg = getattr(spec, "stride", None)
    stride = ntuple(kernel if stride_arg is None else stride_arg, n)
    padding = (0,) * n if isinstance(padding_arg, str) else ntuple(padding_arg, n)
    found = []
    for axis, (edge, extent, side) in enumerate(EDGES[n]):
        size = input_shape[axis - n]
        out = output_shape[axis - n]
        covered = (out - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1) + 1
        unused = size + 2 * padding[axis] - covered
        if unused <= 0:
            continue
        data = max(0, unused - padding[axis])
        span = size + 2 * padding[axis] - dilation[axis] * (kernel[axis] - 1) - 1
        lost = (
            f"the last {data} {edge}(s) of the input are never seen"
            if data
            else f"{unused} {edge}(s) of trailing padding go unused (no input values are lost)"
        )
        good = (size - unused, size + stride[axis] - unused)
        pool_fix = ", or set ceil_mode=True" if hasattr(spec, "ceil_mode") else ""
        formula = f"({size} + 2*{padding[axis]} - {dilation[axis]}*({kernel[axis]}-1) - 1) = {span}"
        found.append(
            f"{who} drops {side} {edge}s: {formula} is not divisible by "
            f"stride {stride[axis]}, so {lost}; use an input {extent} of {good[0]} or "
            f"{good[1]}{pool_fix}"
        )
    return found
