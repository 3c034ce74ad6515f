"""Warnings for layers that fit but silently drop trailing rows or columns of their input."""

from schemas.layer_specs import Conv2dSpec, LayerSpec, MaxPool2dSpec, pair


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
    if not isinstance(spec, Conv2dSpec | MaxPool2dSpec):
        return []
    if isinstance(spec, Conv2dSpec) and spec.padding == "same":
        return []
    kernel, dilation = pair(spec.kernel_size), pair(spec.dilation)
    stride = pair(spec.kernel_size if spec.stride is None else spec.stride)
    padding = (0, 0) if isinstance(spec.padding, str) else pair(spec.padding)
    found = []
    for axis, (edge, extent) in enumerate((("row", "height"), ("column", "width"))):
        size = input_shape[axis - 2]
        out = output_shape[axis - 2]
        covered = (out - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1) + 1
        unused = size + 2 * padding[axis] - covered
        if unused <= 0:
            continue
        data = max(0, unused - padding[axis])
        span = size + 2 * padding[axis] - dilation[axis] * (kernel[axis] - 1) - 1
        side = "bottom" if axis == 0 else "right"
        lost = (
            f"the last {data} {edge}(s) of the input are never seen"
            if data
            else f"{unused} {edge}(s) of trailing padding go unused (no input values are lost)"
        )
        good = (size - unused, size + stride[axis] - unused)
        pool_fix = ", or set ceil_mode=True" if isinstance(spec, MaxPool2dSpec) else ""
        formula = f"({size} + 2*{padding[axis]} - {dilation[axis]}*({kernel[axis]}-1) - 1) = {span}"
        found.append(
            f"{who} drops {side} {edge}s: {formula} is not divisible by "
            f"stride {stride[axis]}, so {lost}; use an input {extent} of {good[0]} or "
            f"{good[1]}{pool_fix}"
        )
    return found
