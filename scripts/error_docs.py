"""docs/errors.md: the problem-details format, and every problem type the service's code raises.

The table is found in the source, not kept by hand: every call that makes a problem
(`ProblemError(status, slug, ...)`, `unprocessable(slug, ...)`, and the helpers that wrap
them) is read with `ast`, so a new problem type shows up here when it is added.
"""

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ERRORS_PAGE = ROOT / "docs" / "errors.md"
SERVICE = ROOT / "service"

# call name -> (position of the slug, position of the status or the status itself)
MAKERS: dict[str, tuple[int, int | str]] = {
    "ProblemError": (1, 0),
    "unprocessable": (0, "422"),
    "_bad": (1, "422"),  # building/safetensors_state.py: an invalid safetensors file
    "_busy": (0, "503"),  # jobs.py: no job slot
    "_Finding": (0, "422"),  # autograd/checks.py: an invalid graph
    "Misfit": (-1, "422"),  # planning/fit: an input that does not fit a layer (slug keyword)
}
# problems made outside those calls: by the request-validation and HTTP handlers
HANDLER_TYPES = {
    "invalid-request": ("422", "service/errors.py"),
    "invalid-json": ("400", "service/errors.py"),
    "unsupported-media-type": ("415", "service/errors.py"),
    "internal-error": ("500", "service/errors.py"),
}


@dataclass
class ProblemType:
    """One `type` (its slug), the statuses it is sent with and the modules that raise it."""

    slug: str
    statuses: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)


def _constants(node: ast.expr | None) -> list[str]:
    """The string or int constants an expression may take (`a if c else b` gives both)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)):
        return [str(node.value)]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    return []


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if 0 <= position < len(call.args):
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _default_status(function: ast.FunctionDef | None) -> list[str]:
    """The default of a `status` parameter of the enclosing function, if any."""
    if function is None:
        return []
    args = function.args
    names = [a.arg for a in args.args][len(args.args) - len(args.defaults) :]
    return [
        text
        for name, d in zip(names, args.defaults, strict=True)
        if name == "status"
        for text in _constants(d)
    ]


def problem_types(root: Path = SERVICE) -> dict[str, ProblemType]:
    """Every problem type raised under `root`, by slug."""
    found: dict[str, ProblemType] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        module = str(path.relative_to(ROOT))
        for function in [None, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]:
            body = tree if function is None else function
            for call in ast.walk(body):
                if not isinstance(call, ast.Call):
                    continue
                name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
                if name not in MAKERS:
                    continue
                slug_at, status_at = MAKERS[name]
                slugs = _constants(_argument(call, slug_at, "slug"))
                if name == "Misfit" and not slugs:
                    slugs = ["shape-mismatch"]  # Misfit's default slug
                if isinstance(status_at, str):
                    statuses = [status_at]
                else:
                    node = _argument(call, status_at, "status")
                    statuses = _constants(node) or _default_status(function)
                for slug in slugs:
                    entry = found.setdefault(slug, ProblemType(slug))
                    entry.statuses.update(statuses)
                    entry.modules.add(module)
    for slug, (status, module) in HANDLER_TYPES.items():
        found.setdefault(slug, ProblemType(slug, {status}, {module}))
    return dict(sorted(found.items()))


# a status some call sites choose at run time, which the source scan cannot see
EXTRA_STATUSES = {"mnist-index-out-of-range": "404"}  # 404 when the index is in the URL path

STATUSES = [
    ("400", "The body could not be read (invalid JSON: `context` gives its line and column)."),
    ("401", "An API key is needed (`Authorization: Bearer <key>`) or the one sent is wrong."),
    (
        "404",
        "No such route, MNIST split or digit in the URL path (`type` `about:blank` for routes).",
    ),
    ("405", "The route does not take this method (`type` `about:blank`)."),
    (
        "413",
        "A limit: the body, an upload, a tensor, all tensors, FLOPs, the response or a "
        "picture would be too large; `context` has the size and the limit, checked before "
        "anything is allocated.",
    ),
    ("415", "The body is not JSON (or a multipart form where one is taken)."),
    (
        "422",
        "The request is well-formed but cannot be done as asked: a field out of range, an "
        "input that does not fit a layer, an unknown architecture...",
    ),
    (
        "503",
        "Busy (queue full or deadline exceeded, with `Retry-After`), out of device "
        "memory, or not ready yet.",
    ),
]


def example_problem() -> str:
    """A real problem body: a conv2d sent a 1-channel input it was built for 3 channels."""
    import json

    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import Settings

    request = {
        "layer": {"type": "conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3},
        "input": {"shape": [1, 1, 8, 8]},
    }
    with TestClient(create_app(Settings())) as client:
        answer = client.post("/v1/layers/inspect", json=request)
    body = answer.json()
    body["context"]["layer"] = {"...": "the layer with its defaults filled in"}
    return "\n".join(
        [
            "```http",
            "POST /v1/layers/inspect",
            "",
            json.dumps(request),
            "```",
            "",
            "```http",
            f"HTTP/1.1 {answer.status_code}",
            f"content-type: {answer.headers['content-type']}",
            "",
            json.dumps(body, indent=2),
            "```",
        ]
    )


def error_reference() -> str:
    """The errors page (Markdown): the format, the statuses, and every problem type."""
    rows = []
    for slug, entry in problem_types().items():
        statuses = entry.statuses | ({EXTRA_STATUSES[slug]} if slug in EXTRA_STATUSES else set())
        where = ", ".join(f"`{m.removeprefix('service/')}`" for m in sorted(entry.modules))
        rows.append(f"| `/problems/{slug}` | {', '.join(sorted(statuses))} | {where} |")
    lines = [
        "# Errors",
        "",
        "Generated by `scripts/reference_docs.py` (the type table is read from the service's "
        "source); a test checks it is current.",
        "",
        "Every error is problem details ([RFC 9457](https://www.rfc-editor.org/rfc/rfc9457)), "
        "`application/problem+json`, never a bare 500: `type` names the problem, `title` "
        "says it in words, `detail` says what is wrong and how to fix it, `instance` is the "
        "path asked, `errors` lists each field at fault (`field` as a dotted path such as "
        "`body.layer.in_channels`, `message`, `fix`), and `context` holds facts a program can "
        "use: the sizes and limits of a 413, the shape received and expected of a misfit, and "
        "for an input that does not fit a layer a `suggestion` (`field`, `argument`, `value`) "
        "that makes it fit when applied.",
        "",
        example_problem(),
        "",
        "## Statuses",
        "",
        "| status | when |",
        "| --- | --- |",
        *(f"| {status} | {text} |" for status, text in STATUSES),
        "",
        "## Problem types",
        "",
        "| type | status | raised in |",
        "| --- | --- | --- |",
        *rows,
    ]
    return "\n".join(lines) + "\n"
