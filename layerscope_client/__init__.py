"""A Python client of the layerscope service, importable without torch.

```python
from layerscope_client import Client

with Client("http://127.0.0.1:8000") as client:
    result = client.inspect_layer({"layer": {"type": "linear", "in_features": 4,
                                   "out_features": 2}, "input": {"shape": [1, 4]}})
    print(result.report.output.shape, result.array(result.report.output))
```

Requests are the `schemas` request models or dicts of the same shape; reports come back as the
`schemas` response models; tensor values as torch tensors when torch is importable, else numpy
arrays (`Client(..., arrays="numpy")` forces numpy). Errors raise `LayerscopeError`.
"""

from layerscope_client.arrays import Array, ArrayKind
from layerscope_client.client import Client
from layerscope_client.errors import LayerscopeError
from layerscope_client.results import Result

__all__ = ["Array", "ArrayKind", "Client", "LayerscopeError", "Result"]
