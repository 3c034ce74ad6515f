"""GET /v1/models: the torchvision architectures `model` takes, with their facts."""

from functools import cache
from typing import Any

from service.networks import zoo


@cache
def architecture_catalog() -> dict[str, Any]:
    """Every architecture's name, class, parameter count, input sizes and keywords (built on
    meta once per process: a few seconds the first time)."""
    entries = []
    for name in zoo.names():
        arch = zoo.architecture(name)
        entries.append(
            {
                "name": arch.name,
                "class_name": arch.class_name,
                "parameter_count": arch.parameter_count,
                "input_size": arch.input_size,
                "min_size": arch.min_size,
                "keywords": [
                    {
                        "name": k.name,
                        "type": zoo.SIMPLE_TYPES[k.kind],
                        "default": k.default,
                    }
                    for k in arch.keywords.values()
                ],
            }
        )
    return {"architectures": entries}
