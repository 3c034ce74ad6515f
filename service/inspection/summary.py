"""POST /v1/models/summary: the table of a pipeline on meta, as JSON or as torchinfo-style text."""

from typing import Any

from schemas.models import ModelSummaryRequest
from service.inspection.model_source import architecture_source, pipeline_source
from service.networks import zoo
from service.planning.fit import Received
from service.planning.model_plan import MAX_META_ELEMENTS
from service.planning.tree_plan import plan_tree
from service.settings import Settings
from service.tensors.codec import TORCH_DTYPES


def summarize_model(request: ModelSummaryRequest, settings: Settings) -> dict[str, Any]:
    """The body of /v1/models/summary: the table of the model down to `depth`, computed on meta
    in the request's dtype and mode (nothing is allocated, so no element limit but a sanity
    bound applies)."""
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
    return tree.table(request.depth)


def _shape(shape: list[int]) -> str:
    return str(list(shape))


def _megabytes(count: int) -> str:
    return f"{count / 1e6:0.2f}"


def render_text(table: dict[str, Any]) -> str:
    """A torchinfo-style text table of a pipeline's `table()`."""
    summary, rows = table["summary"], table["layers"]
    name_width, col = 40, 25
    classes = [row["repr"].split("(", 1)[0] for row in rows]
    names = [f"├─{cls}: 1-{row['index'] + 1}" for cls, row in zip(classes, rows, strict=True)]
    name_width = max(name_width, *(len(n) + 1 for n in names))
    width = name_width + 4 * col
    divider = "=" * width

    def line(name: str, *cells: str) -> str:
        return (f"{name:<{name_width}} " + " ".join(f"{c:<{col}}" for c in cells)).rstrip()

    def count(n: int) -> str:
        return f"{n:,}" if n else "--"

    out = [
        divider,
        line("Layer (type:depth-idx)", "Input Shape", "Output Shape", "Param #", "FLOPs"),
        divider,
        line(
            "Sequential",
            _shape(summary["input_shape"]),
            _shape(summary["output_shape"]),
            "--",
            "--",
        ),
    ]
    for name, row in zip(names, rows, strict=True):
        out.append(
            line(
                name,
                _shape(row["input_shape"]),
                _shape(row["output_shape"]),
                count(row["parameter_count"]),
                count(row["flops"]),
            )
        )
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
    out += [f"Warning: {warning}" for warning in table["warnings"]]
    return "\n".join(out) + "\n"
