"""POST /v1/models/summary: the table of a model on meta, as JSON or as torchinfo's text."""

import math
from typing import Any

from schemas.models import ModelSummaryRequest
from service.inspection.model_source import architecture_source, pipeline_source
from service.networks import zoo
from service.networks.module_tree import ModuleCall
from service.planning.fit import Received
from service.planning.model_plan import MAX_META_ELEMENTS
from service.planning.tree_plan import RowCounts, TreePlan, plan_tree
from service.settings import Settings
from service.tensors.codec import TORCH_DTYPES


def plan_summary(request: ModelSummaryRequest, settings: Settings) -> TreePlan:
    """The model of a summary request, planned on meta in the request's dtype and mode
    (nothing is allocated, so no element limit but a sanity bound applies)."""
    dtype = TORCH_DTYPES[request.dtype]
    input_dtype = TORCH_DTYPES[request.input_dtype] if request.input_dtype else dtype
    shape = request.input_shape
    if shape is None:
        assert request.model is not None  # a pipeline always names its input_shape
        shape = zoo.check_name(request.model.torchvision, "body.model.torchvision").input_size
    received = Received(list(shape), input_dtype, request.mode == "train")
    roomy = settings.model_copy(update={"max_tensor_elements": MAX_META_ELEMENTS})
    if request.layers is not None:
        source = pipeline_source(request.layers, received, dtype, roomy)
    else:
        assert request.model is not None
        source = architecture_source(request.model, received, dtype)
    tree = plan_tree(
        source.meta,
        received,
        MAX_META_ELEMENTS,
        field=source.request_field,
        smallest=source.smallest,
    )
    tree.warnings.extend(source.warnings)
    return tree


def summarize_model(request: ModelSummaryRequest, settings: Settings) -> dict[str, Any]:
    """The body of /v1/models/summary: the table of the model down to `depth`."""
    return plan_summary(request, settings).table(request.depth)


def summary_text(request: ModelSummaryRequest, settings: Settings) -> str:
    """/v1/models/summary as text: torchinfo's table of the model down to `depth`."""
    return render_text(plan_summary(request, settings), request.depth)


NAME_WIDTH, COLUMN_WIDTH, ALIGN = 40, 25, 5
"""torchinfo's defaults: the name column's least width, other columns' width, the rounding."""

HEADERS = ("Input Shape", "Output Shape", "Param #", "FLOPs")


def _shape(size: list[int]) -> str:
    """torchinfo's `str_`: the list, or `--` for none."""
    return str(size) if size else "--"


def _megabytes(count: int) -> str:
    return f"{count / 1e6:0.2f}"


def _label(call: ModuleCall) -> str:
    """torchinfo's `get_layer_name` with depths: `Conv2d: 3-14`; the model's class alone."""
    if call.depth == 0:
        return call.class_name
    return f"{call.class_name}: {call.depth}-{call.depth_index}"


def _prefix(depth: int) -> str:
    """torchinfo's tree prefix: `├─` at depth 1, `│    └─` at 2, ..."""
    if depth == 0:
        return ""
    if depth == 1:
        return "├─"
    return "│    " * (depth - 1) + "└─"


def _parameters(counts: RowCounts, call: ModuleCall, at_max_depth: bool) -> str:
    """torchinfo's `num_params_to_str`: `--` for none, `(recursive)` for a module listed
    before, the count at a leaf or at the last depth shown (in parentheses if none of it
    trains), else the leftover the rows below do not show."""
    if counts.parameters == 0:
        return "--"
    if call.recursive:
        return "(recursive)"
    if at_max_depth or counts.leaf:
        text = f"{counts.parameters:,}"
        return text if counts.trainable else f"({text})"
    return f"{counts.leftover:,}" if counts.leftover > 0 else "--"


def render_text(tree: TreePlan, depth: int) -> str:
    """torchinfo's default text table of a planned model (`summary(model, input_size,
    depth=depth, col_names=("input_size", "output_size", "num_params"))`), line for line, with
    a FLOPs column (each row's, its children's included) and FlopCounterMode's total in place
    of torchinfo's mult-adds."""
    widest = max(len(_label(call)) + call.depth * ALIGN + 1 for call in tree.listed)
    name_width = NAME_WIDTH if widest < NAME_WIDTH else math.ceil(widest / ALIGN) * ALIGN
    divider = "=" * (name_width + len(HEADERS) * COLUMN_WIDTH)

    def line(name: str, *cells: str) -> str:
        return (f"{name:<{name_width}} " + "".join(f"{c:<{COLUMN_WIDTH}} " for c in cells)).rstrip()

    out = [divider, line("Layer (type:depth-idx)", *HEADERS), divider]
    for call, counts in zip(tree.listed, tree.counted, strict=True):
        if call.depth > depth:
            continue
        out.append(
            line(
                _prefix(call.depth) + _label(call),
                _shape(call.input_size),
                _shape(call.output_size),
                _parameters(counts, call, call.depth == depth),
                f"{call.flops:,}" if call.flops else "--",
            )
        )
    summary = tree.summary()
    total, trainable = summary["parameter_count"], summary["trainable_parameter_count"]
    out += [
        divider,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        f"Total FLOPs (forward, multiply-add = 2): {summary['flops']:,}",
        divider,
        f"Input size (MB): {_megabytes(summary['input_bytes'])}",
        f"Forward/backward pass size (MB): {_megabytes(summary['forward_backward_bytes'])}",
        f"Params size (MB): {_megabytes(summary['parameter_bytes'])}",
        f"Estimated Total Size (MB): {_megabytes(summary['total_bytes'])}",
        divider,
    ]
    out += [f"Warning: {warning}" for warning in tree.warnings]
    return "\n".join(out) + "\n"
