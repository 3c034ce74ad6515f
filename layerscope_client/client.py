"""`Client`: one method per operation of the layerscope service, typed with `schemas`."""

from collections.abc import Mapping
from types import ModuleType, TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from layerscope_client import body as safetensors_body
from layerscope_client.arrays import ArrayKind, to_array, torch_module
from layerscope_client.bodies import Request, body_of, with_encoding
from layerscope_client.errors import LayerscopeError
from layerscope_client.results import Result
from layerscope_client.uploads import (
    Images,
    Weights,
    form_fields,
    image_parts,
    weights_parts,
)
from schemas.autograd import AutogradRequest, AutogradResponse
from schemas.explain import (
    AttributeRequest,
    AttributeResponse,
    LayerSweepRequest,
    LayerSweepResponse,
    ReceptiveFieldRequest,
    ReceptiveFieldResponse,
)
from schemas.images import (
    ColormapCatalog,
    ImageInputOptions,
    MnistBatch,
    MnistInfo,
    MnistSample,
)
from schemas.models import (
    ModelCatalog,
    ModelInspectRequest,
    ModelInspectResponse,
    ModelRenderRequest,
    ModelSummaryRequest,
    ModelSummaryResponse,
)
from schemas.requests import LayerInspectRequest, LayerRenderRequest
from schemas.responses import Health, Info, LayerInspectResponse

ModelT = TypeVar("ModelT", bound=BaseModel)

UNSET: Any = object()


class Client:
    """A client of one layerscope service.

    `base_url` is the service's root (`http://127.0.0.1:8000`); `api_key` is sent as
    `Authorization: Bearer <key>`; `timeout` is in seconds; `transport` is httpx's (tests pass
    an ASGI transport to talk to an app in-process). `arrays` picks what tensor values come
    back as: `auto` (torch tensors when torch is importable, else numpy arrays), `torch` or
    `numpy`; numpy has no bfloat16, so in numpy a bfloat16 tensor is float32 holding exactly
    its values. The inspect and autograd methods ask for the binary (safetensors) response
    unless the request names its own `encoding`.

    Every error response raises `LayerscopeError` (status, problem details, fixes);
    connection failures raise httpx's own errors. Use it as a context manager, or `close()` it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        arrays: ArrayKind = "auto",
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )
        self.arrays: ArrayKind = arrays
        self._torch: ModuleType | None = UNSET

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # Plumbing.

    @property
    def torch(self) -> ModuleType | None:
        """torch when values come back as torch tensors, else None (imported on first use)."""
        if self._torch is UNSET:
            self._torch = torch_module(self.arrays)
        return self._torch

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; raise LayerscopeError for an error response."""
        response = self.http.request(method, path, **kwargs)
        if response.is_error:
            raise LayerscopeError.from_response(response)
        return response

    def _model(self, model: type[ModelT], response: httpx.Response) -> ModelT:
        """A JSON response as its `schemas` model."""
        return model.model_validate_json(response.content)

    def _result(self, model: type[ModelT], response: httpx.Response) -> Result[ModelT]:
        """A response with tensors: a safetensors body (the report from its header, the tensors
        by name) or JSON (values decoded on demand by `Result.array`)."""
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if media != safetensors_body.MEDIA_TYPE:
            return Result(self._model(model, response), {}, self.torch)
        text, stored = safetensors_body.read(response.content)
        tensors = {name: to_array(bits, self.torch) for name, bits in stored.items()}
        return Result(model.model_validate_json(text), tensors, self.torch)

    def _post_tensors(
        self, path: str, model: type[ModelT], request_model: type[BaseModel], request: Request
    ) -> Result[ModelT]:
        body = with_encoding(body_of(request_model, request), "safetensors")
        return self._result(model, self._send("POST", path, json=body))

    def _form(
        self,
        request_model: type[BaseModel],
        spec: Request,
        images: Images | None,
        weights: Weights | None,
        options: ImageInputOptions | Mapping[str, Any] | None,
        encoding: str | None,
    ) -> dict[str, Any]:
        """The keyword arguments of a multipart request."""
        files = image_parts(images)
        body = body_of(request_model, spec, uploaded=bool(files))
        if encoding is not None:
            body = with_encoding(body, encoding)
        if isinstance(options, ImageInputOptions):
            options = options.model_dump(mode="json", exclude_unset=True)
        return {
            "data": form_fields(body, options),
            "files": files + weights_parts(weights),
        }

    # Service.

    def healthz(self) -> Health:
        """GET /healthz: `ok` while the process serves HTTP."""
        return self._model(Health, self._send("GET", "/healthz"))

    def readyz(self) -> Health:
        """GET /readyz: `ready` once the device answered a warm-up op (503 until then)."""
        return self._model(Health, self._send("GET", "/readyz"))

    def info(self) -> Info:
        """GET /v1/info: torch, torchvision and CUDA versions, devices, the limits in force."""
        return self._model(Info, self._send("GET", "/v1/info"))

    def models(self) -> ModelCatalog:
        """GET /v1/models: the torchvision architectures `model` takes, with their keywords."""
        return self._model(ModelCatalog, self._send("GET", "/v1/models"))

    def colormaps(self) -> ColormapCatalog:
        """GET /v1/colormaps: matplotlib's tables the pictures are drawn with (colour bars)."""
        return self._model(ColormapCatalog, self._send("GET", "/v1/colormaps"))

    # MNIST.

    def mnist(self) -> MnistInfo:
        """GET /v1/mnist: the splits of the sample set, their sizes, credit and licence."""
        return self._model(MnistInfo, self._send("GET", "/v1/mnist"))

    def mnist_sample(self, split: str = "test", index: int = 0) -> Result[MnistSample]:
        """GET /v1/mnist/{split}/{index}: one digit's label and preprocessed [1, 1, 28, 28]
        tensor (`result.array(result.report.tensor)`)."""
        path = f"/v1/mnist/{quote(split, safe='')}/{index}"
        response = self._send("GET", path, params={"encoding": "base64"})
        return self._result(MnistSample, response)

    def mnist_png(self, split: str = "test", index: int = 0, *, scale: int = 1) -> bytes:
        """GET /v1/mnist/{split}/{index}.png: the digit's pixels as an 8-bit gray PNG."""
        path = f"/v1/mnist/{quote(split, safe='')}/{index}.png"
        return self._send("GET", path, params={"scale": scale}).content

    @staticmethod
    def _loader(
        batch_size: int, shuffle: bool, seed: int, batch: int, drop_last: bool
    ) -> dict[str, Any]:
        return {
            "batch_size": batch_size,
            "shuffle": str(shuffle).lower(),
            "seed": seed,
            "batch": batch,
            "drop_last": str(drop_last).lower(),
        }

    def mnist_batch(
        self,
        split: str = "test",
        *,
        batch_size: int = 8,
        shuffle: bool = False,
        seed: int = 0,
        batch: int = 0,
        drop_last: bool = False,
    ) -> Result[MnistBatch]:
        """GET /v1/mnist/{split}/batch: the batch `DataLoader(batch_size, shuffle, drop_last,
        generator=manual_seed(seed))` yields as its `batch`-th: positions, labels, tensor."""
        params = self._loader(batch_size, shuffle, seed, batch, drop_last) | {"encoding": "base64"}
        path = f"/v1/mnist/{quote(split, safe='')}/batch"
        return self._result(MnistBatch, self._send("GET", path, params=params))

    def mnist_batch_png(
        self,
        split: str = "test",
        *,
        batch_size: int = 8,
        shuffle: bool = False,
        seed: int = 0,
        batch: int = 0,
        drop_last: bool = False,
        columns: int = 4,
        scale: int = 3,
    ) -> bytes:
        """GET /v1/mnist/{split}/batch.png: that batch as a grid of digits titled with their
        labels."""
        params = self._loader(batch_size, shuffle, seed, batch, drop_last)
        params |= {"columns": columns, "scale": scale}
        path = f"/v1/mnist/{quote(split, safe='')}/batch.png"
        return self._send("GET", path, params=params).content

    # Layers.

    def inspect_layer(
        self, request: LayerInspectRequest | Mapping[str, Any]
    ) -> Result[LayerInspectResponse]:
        """POST /v1/layers/inspect: one layer forward (and backward): the report and every
        tensor (`input`, `output`, `parameters.weight`, ... and their `.grad`)."""
        return self._post_tensors(
            "/v1/layers/inspect", LayerInspectResponse, LayerInspectRequest, request
        )

    def inspect_layer_upload(
        self,
        spec: LayerInspectRequest | Mapping[str, Any],
        images: Images,
        *,
        input: ImageInputOptions | Mapping[str, Any] | None = None,
    ) -> Result[LayerInspectResponse]:
        """POST /v1/layers/inspect/upload: the same on uploaded images (bytes or local paths;
        several make one batch, in order). `spec` is the request without `input` (a model's
        own `input` is left out); `input` holds the preprocessing options."""
        form = self._form(LayerInspectRequest, spec, images, None, input, "safetensors")
        response = self._send("POST", "/v1/layers/inspect/upload", **form)
        return self._result(LayerInspectResponse, response)

    def render_layer(self, request: LayerRenderRequest | Mapping[str, Any]) -> bytes:
        """POST /v1/layers/render: one layer's input, weights, output or gradient as a PNG."""
        body = body_of(LayerRenderRequest, request)
        return self._send("POST", "/v1/layers/render", json=body).content

    # Models.

    def inspect_model(
        self, request: ModelInspectRequest | Mapping[str, Any]
    ) -> Result[ModelInspectResponse]:
        """POST /v1/models/inspect: a pipeline or a torchvision model, module by module: the
        report and the selected modules' tensors (`layers.<name>.output`, `parameters.<name>`,
        ...)."""
        return self._post_tensors(
            "/v1/models/inspect", ModelInspectResponse, ModelInspectRequest, request
        )

    def inspect_model_upload(
        self,
        spec: ModelInspectRequest | Mapping[str, Any],
        *,
        images: Images | None = None,
        weights: Weights | None = None,
        input: ImageInputOptions | Mapping[str, Any] | None = None,
    ) -> Result[ModelInspectResponse]:
        """POST /v1/models/inspect/upload: with uploaded images as the input (bytes or local
        paths) and/or the weights as a safetensors file (bytes, a local path, or a mapping of
        tensors such as `model.state_dict()`), in place of `spec.weights`."""
        form = self._form(ModelInspectRequest, spec, images, weights, input, "safetensors")
        response = self._send("POST", "/v1/models/inspect/upload", **form)
        return self._result(ModelInspectResponse, response)

    def summary(self, request: ModelSummaryRequest | Mapping[str, Any]) -> ModelSummaryResponse:
        """POST /v1/models/summary: shapes, parameters, FLOPs and memory, on the meta device."""
        body = body_of(ModelSummaryRequest, request)
        response = self._send("POST", "/v1/models/summary", json=body)
        return self._model(ModelSummaryResponse, response)

    def summary_text(self, request: ModelSummaryRequest | Mapping[str, Any]) -> str:
        """POST /v1/models/summary?format=text: the same table, torchinfo-style text."""
        body = body_of(ModelSummaryRequest, request)
        response = self._send("POST", "/v1/models/summary", params={"format": "text"}, json=body)
        return response.text

    def render_model(self, request: ModelRenderRequest | Mapping[str, Any]) -> bytes:
        """POST /v1/models/render: one module's tensor as a PNG grid."""
        body = body_of(ModelRenderRequest, request)
        return self._send("POST", "/v1/models/render", json=body).content

    def render_model_upload(
        self,
        spec: ModelRenderRequest | Mapping[str, Any],
        *,
        images: Images | None = None,
        weights: Weights | None = None,
        input: ImageInputOptions | Mapping[str, Any] | None = None,
    ) -> bytes:
        """POST /v1/models/render/upload: render with the upload form of inspect_model_upload."""
        form = self._form(ModelRenderRequest, spec, images, weights, input, None)
        return self._send("POST", "/v1/models/render/upload", **form).content

    # Autograd.

    def autograd(self, request: AutogradRequest | Mapping[str, Any]) -> Result[AutogradResponse]:
        """POST /v1/autograd: a small graph of named tensors: every grad_fn, next_functions,
        value (`tensors.<name>`) and `.grad` (`tensors.<name>.grad`)."""
        return self._post_tensors("/v1/autograd", AutogradResponse, AutogradRequest, request)

    # Explain.

    def receptive_field(
        self, request: ReceptiveFieldRequest | Mapping[str, Any]
    ) -> ReceptiveFieldResponse:
        """POST /v1/models/receptive-field: the input window one unit of a module sees, or the
        units an input box affects (`png` adds the box drawn on the input)."""
        body = body_of(ReceptiveFieldRequest, request)
        response = self._send("POST", "/v1/models/receptive-field", json=body)
        return self._model(ReceptiveFieldResponse, response)

    def attribute(self, request: AttributeRequest | Mapping[str, Any]) -> Result[AttributeResponse]:
        """POST /v1/models/attribute: Captum's attribution of the model's output (`attribution`,
        `output`, and a heat map over the input)."""
        return self._post_tensors(
            "/v1/models/attribute", AttributeResponse, AttributeRequest, request
        )

    def attribute_upload(
        self,
        spec: AttributeRequest | Mapping[str, Any],
        *,
        images: Images | None = None,
        weights: Weights | None = None,
        input: ImageInputOptions | Mapping[str, Any] | None = None,
    ) -> Result[AttributeResponse]:
        """POST /v1/models/attribute/upload: attribute with the upload form of
        inspect_model_upload."""
        form = self._form(AttributeRequest, spec, images, weights, input, "safetensors")
        response = self._send("POST", "/v1/models/attribute/upload", **form)
        return self._result(AttributeResponse, response)

    def sweep_layer(self, request: LayerSweepRequest | Mapping[str, Any]) -> LayerSweepResponse:
        """POST /v1/layers/sweep: one layer over a list of values of one argument, each value's
        inspect result and picture, or its problem."""
        body = body_of(LayerSweepRequest, request)
        return self._model(LayerSweepResponse, self._send("POST", "/v1/layers/sweep", json=body))
