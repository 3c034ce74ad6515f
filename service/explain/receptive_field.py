"""POST /v1/models/receptive-field: the input box one unit of a module sees, or the units of a
module that see an input box, from the fields the meta walk of the model found
(service.explain.field_trace), with a picture of the box on the input."""

from dataclasses import dataclass
from typing import Any

from schemas.explain import ReceptiveFieldRequest
from schemas.models import ModelSummaryRequest
from service.errors import unprocessable
from service.explain import fields as fa
from service.explain.field_trace import field_object
from service.explain.pictures import box_png, default_scale, input_rgb
from service.images.rendering import data_uri
from service.inspection.summary import plan_summary
from service.networks import zoo
from service.networks.module_tree import ModuleCall, flat_shape
from service.planning.dtypes import DTypes
from service.planning.inputs import InputPlan, plan_input
from service.planning.tree_plan import TreePlan
from service.settings import Settings


def module_name(module: int | str, pipeline: bool, field: str) -> str:
    """The qualified name `module` stands for: a pipeline's index is its layer's name, `"3"`."""
    if isinstance(module, int):
        if not pipeline:
            raise unprocessable(
                "no-such-layer",
                field,
                "a layer index names a pipeline's layer; this model is a torchvision architecture",
                "name the module by its qualified name, e.g. `layer1.0.conv1`",
            )
        return str(module)
    return module


def find_call(tree: TreePlan, name: str, call: int, field: str) -> ModuleCall:
    """The row of that call of the module `name`; 422 at `field` naming the modules that run
    (and the close ones), or the calls there are."""
    calls = [row for row in tree.rows if row.name == name]
    if not calls:
        raise tree.not_run(name, field)
    if call >= len(calls):
        raise unprocessable(
            "no-such-call",
            "body.call",
            f"module {name!r} runs {len(calls)} time{'s' if len(calls) > 1 else ''} in this "
            f"forward pass; there is no call {call}",
            f"use a call from 0 to {len(calls) - 1}",
        )
    return calls[call]


@dataclass(frozen=True)
class Grid:
    """A module output's units on the input's grid."""

    info: fa.Traced
    counts: list[int]
    """Units along each spatial axis (1 where the axis is down to one unit)."""
    channels: int
    input_sizes: list[int]
    """The input's positions along each spatial axis."""


def grid_of(tree: TreePlan, row: ModuleCall, field: str) -> Grid:
    """Where the units of a module's output lie; 422 at `field` when they lie on no grid of
    the input (past a global pooling, a flatten, ...), with the reason."""
    assert tree.fields is not None
    info = tree.fields.of(row.module, row.call)
    shape = flat_shape(row.output_shape)
    reason: str | None = None
    if isinstance(info, str):
        reason = info
    elif info is None:
        reason = "its output holds nothing computed from the input"
    elif isinstance(info, fa.Untraced):
        reason = info.reason
    elif not info.on_grid() or not shape:
        reason = info.merged_at or "its units lie on no grid of the input"
    if reason is not None or not isinstance(info, fa.Traced):
        raise unprocessable(
            "no-receptive-field",
            field,
            f"module {row.name!r} has no receptive field: {reason}",
            "pick a module before the input's grid ends (the summary's `receptive_field` "
            "column shows which have one)",
            context={"module": row.name, "reason": reason},
        )
    count = len(info.axes)
    counts = []
    for axis in range(count):
        dim = info.dim_of(axis)
        counts.append(shape[dim] if dim is not None else 1)
    others = [i for i, dim in enumerate(info.layout) if not fa.spatial(dim)]
    if len(tree.input_shape) == count + 2 and others and others[0] == 0:
        others = others[1:]  # the batch
    channels = 1
    for i in others:
        channels *= shape[i]
    return Grid(info, counts, channels, list(tree.input_shape[-count:]))


def _range_problem(field: str, value: int, high: int, what: str) -> Exception:
    return unprocessable(
        "out-of-range",
        field,
        f"{value} is outside {what}, which runs from 0 to {high - 1}",
        f"use a value from 0 to {high - 1}",
        context={"value": value, "low": 0, "high": high - 1},
    )


def _check_rank(values: list[int], count: int, field: str) -> None:
    if len(values) != count:
        raise unprocessable(
            "wrong-rank",
            field,
            f"{len(values)} positions given; the input has {count} spatial "
            f"ax{'es' if count > 1 else 'is'}",
            f"give {count} position{'s' if count > 1 else ''}, one per spatial axis",
        )


def unit_window(request: ReceptiveFieldRequest, grid: Grid, row: ModuleCall) -> dict[str, Any]:
    """The window of the request's unit: unclipped, and within the input."""
    assert request.unit is not None
    unit = request.unit
    count = len(grid.info.axes)
    _check_rank(unit.position, count, "body.unit.position")
    for axis, (position, units) in enumerate(zip(unit.position, grid.counts, strict=True)):
        if position >= units:
            raise _range_problem(
                f"body.unit.position.{axis}",
                position,
                units,
                f"axis {axis} of module {row.name!r}'s output {flat_shape(row.output_shape)}",
            )
    if unit.channel >= grid.channels:
        raise _range_problem(
            "body.unit.channel", unit.channel, grid.channels, f"module {row.name!r}'s channels"
        )
    windows = [
        axis.window(position) for axis, position in zip(grid.info.axes, unit.position, strict=True)
    ]
    first = [lo for lo, _ in windows]
    last = [hi for _, hi in windows]
    inside_first = [max(lo, 0) for lo in first]
    inside_last = [min(hi, size - 1) for hi, size in zip(last, grid.input_sizes, strict=True)]
    inside = all(lo <= hi for lo, hi in zip(inside_first, inside_last, strict=True))
    return {
        "unit": unit.model_dump(),
        "window": {"start": first, "end": last},
        "window_in_input": {"start": inside_first, "end": inside_last} if inside else None,
    }


def box_units(request: ReceptiveFieldRequest, grid: Grid) -> dict[str, Any]:
    """The output positions whose windows meet the request's box."""
    assert request.box is not None
    box = request.box
    count = len(grid.info.axes)
    _check_rank(box.start, count, "body.box.start")
    _check_rank(box.end, count, "body.box.end")
    for axis, size in enumerate(grid.input_sizes):
        for name, value in (("start", box.start[axis]), ("end", box.end[axis])):
            if value >= size:
                raise _range_problem(
                    f"body.box.{name}.{axis}", value, size, f"axis {axis} of the input"
                )
        if box.start[axis] > box.end[axis]:
            raise unprocessable(
                "empty-box",
                f"body.box.end.{axis}",
                f"the box ends at {box.end[axis]} before it starts at {box.start[axis]} on "
                f"axis {axis}",
                "give end >= start (both are included)",
            )
    ranges = [
        axis.units_seeing(lo, hi, units)
        for axis, lo, hi, units in zip(grid.info.axes, box.start, box.end, grid.counts, strict=True)
    ]
    if any(r is None for r in ranges):
        return {"box": box.model_dump(), "units": None, "unit_count": 0}
    spans = [r for r in ranges if r is not None]
    total = 1
    for lo, hi in spans:
        total *= hi - lo + 1
    return {
        "box": box.model_dump(),
        "units": {"start": [lo for lo, _ in spans], "end": [hi for _, hi in spans]},
        "unit_count": total,
    }


def _input(
    request: ReceptiveFieldRequest, settings: Settings
) -> tuple[list[int], InputPlan | None]:
    """The input's shape, and its plan where the request gives one (to draw)."""
    if request.input is not None:
        plan = plan_input(request.input, settings, DTypes())
        return plan.shape, plan
    if request.input_shape is not None:
        return list(request.input_shape), None
    assert request.model is not None
    return list(
        zoo.check_name(request.model.torchvision, "body.model.torchvision").input_size
    ), None


def receptive_field(request: ReceptiveFieldRequest, settings: Settings) -> dict[str, Any]:
    """The body of /v1/models/receptive-field."""
    shape, plan = _input(request, settings)
    summary = ModelSummaryRequest.model_construct(
        layers=request.layers,
        model=request.model,
        input_shape=shape,
        depth=1,
        input_dtype="int64" if plan is not None and not plan.dtype.is_floating_point else None,
        dtype="float32",
        mode=request.mode,
    )
    tree = plan_summary(summary, settings)
    name = module_name(request.module, request.layers is not None, "body.module")
    row = find_call(tree, name, request.call, "body.module")
    grid = grid_of(tree, row, "body.module")
    body: dict[str, Any] = {
        "module": row.name,
        "call": row.call,
        "class_name": row.class_name,
        "input_shape": shape,
        "output_shape": flat_shape(row.output_shape),
        "receptive_field": field_object(grid.info),
        "channels": grid.channels,
    }
    if request.unit is not None:
        body |= unit_window(request, grid, row)
        drawn = body["window_in_input"]
    else:
        body |= box_units(request, grid)
        drawn = body["box"]
    body["image"] = None
    if request.png:
        body["image"] = _picture(request, grid, shape, plan, drawn, settings)
    return body


def _picture(
    request: ReceptiveFieldRequest,
    grid: Grid,
    shape: list[int],
    plan: InputPlan | None,
    drawn: dict[str, list[int]] | None,
    settings: Settings,
) -> str:
    """The input with the box drawn on it, as a data URI (two spatial axes only)."""
    if len(grid.info.axes) != 2:
        raise unprocessable(
            "no-picture",
            "body.png",
            f"pictures are drawn for two spatial axes; this input has {len(grid.info.axes)}",
            "leave out png",
        )
    rgb = input_rgb(plan.make() if plan is not None else None, shape)
    scale = request.scale or default_scale(rgb.shape[0], rgb.shape[1])
    box = None if drawn is None else (drawn["start"], drawn["end"])  # None: all in padding
    return data_uri(box_png(rgb, box, scale, settings.max_render_pixels))
