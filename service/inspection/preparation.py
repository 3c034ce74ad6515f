"""What every run shares before it runs: the device, dtypes and mode, and the input
(`setup_run`); and for one layer, the walk on meta (shapes, dtypes, FLOPs, misfits), the
element limits and the grad_output (`prepare`)."""

from dataclasses import dataclass

import torch

from schemas.layer_specs import EmbeddingSpec, LayerSpec
from schemas.requests import RunOptions
from service.devices import resolve_device, use_torch_threads
from service.errors import unprocessable
from service.planning.dtypes import DTypes
from service.planning.fit import Received
from service.planning.inputs import InputPlan, plan_grad_output, plan_input
from service.planning.limits import check_totals
from service.planning.model_plan import ModelPlan, Naming, plan_model
from service.planning.plan_cache import PlanCache
from service.running.execution import RunConfig
from service.runtime import Runtime


@dataclass
class RunSetup:
    """Where and how a run goes, and its input (not made yet)."""

    config: RunConfig
    dtypes: DTypes
    plan: InputPlan
    backward: bool


def setup_run(
    request: RunOptions, runtime: Runtime, plan: InputPlan | None, first: LayerSpec | None
) -> RunSetup:
    """Resolve the device, dtypes and mode, and plan the input (its size and dtype checked,
    an embedding's indices too when `first` is one). `plan` replaces `request.input` when the
    input was made elsewhere (an uploaded image)."""
    settings = runtime.settings
    use_torch_threads(settings.torch_threads)
    device = resolve_device(request.device, runtime.device)
    dtypes = DTypes.of(request.dtype, request.cast)
    training = request.mode == "train"
    plan = plan if plan is not None else plan_input(request.input, settings, dtypes)
    if first is not None:
        check_indices(plan, first, request)
    config = RunConfig(device, dtypes.compute, training, request.forward_seed)
    return RunSetup(config, dtypes, plan, request.backward is not None)


PLANS: PlanCache[ModelPlan] = PlanCache()
"""Layer plans on meta by what they depend on (see service.planning.plan_cache): a small
layer's meta walk took a tenth of its request's own work."""


@dataclass
class Prepared:
    """A run, planned: where and how it runs, its input, its layers on meta, its grad_output."""

    config: RunConfig
    dtypes: DTypes
    plan: InputPlan
    model_plan: ModelPlan
    grad_output: torch.Tensor | None
    backward: bool


def prepare(
    request: RunOptions,
    specs: list[LayerSpec],
    runtime: Runtime,
    plan: InputPlan | None,
    naming: Naming,
) -> Prepared:
    """Plan everything about a run from the request alone, refusing (422/413) what does not fit
    before anything real is allocated. `plan` replaces `request.input` when the input was made
    elsewhere (an uploaded image)."""
    settings = runtime.settings
    setup = setup_run(request, runtime, plan, specs[0])
    received = Received(setup.plan.shape, setup.plan.dtype, setup.config.training)
    key = (
        tuple(spec.model_dump_json() for spec in specs),
        tuple(received.shape),
        received.dtype,
        received.training,
        setup.dtypes.compute,
        settings.max_tensor_elements,
        settings.max_layers,
        naming,
    )
    model_plan = PLANS.planned(
        key,
        lambda: plan_model(
            specs,
            received,
            settings.max_tensor_elements,
            settings.max_layers,
            dtype=setup.dtypes.compute,
            naming=naming,
            count_flops=False,  # the layer's response has no FLOPs
        ),
    )
    check_totals(model_plan.named_shapes(), backward=setup.backward, settings=settings)
    grad_output = plan_grad_output(
        request.backward, model_plan.output_shape, settings, setup.dtypes
    )
    return Prepared(setup.config, setup.dtypes, setup.plan, model_plan, grad_output, setup.backward)


def check_indices(plan: InputPlan, first: LayerSpec, request: RunOptions) -> None:
    """An embedding's indices lie in [0, num_embeddings): checked on the values (explicit
    input) or on `high` (random input) before anything runs."""
    if not isinstance(first, EmbeddingSpec) or plan.dtype.is_floating_point:
        return
    rows = first.num_embeddings
    high = getattr(request.input, "high", None)
    if high is not None:
        if high > rows:
            raise unprocessable(
                "index-out-of-range",
                "body.input.high",
                f"the embedding has {rows} rows (num_embeddings) but the input draws indices "
                f"up to {high - 1}",
                f"set high <= {rows}, or num_embeddings >= {high}",
            )
        return
    values = plan.make()
    if values.numel() == 0:
        return
    lo, hi = int(values.min()), int(values.max())
    if lo < 0 or hi >= rows:
        bad = lo if lo < 0 else hi
        raise unprocessable(
            "index-out-of-range",
            "body.input.tensor.data",
            f"the embedding has {rows} rows (num_embeddings) but the input holds index {bad}",
            f"use indices from 0 to {rows - 1}"
            + (f", or set num_embeddings >= {hi + 1}" if bad >= rows else ""),
            context={"num_embeddings": rows, "min": lo, "max": hi},
        )
