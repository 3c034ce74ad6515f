"""layerscope: a FastAPI service that looks inside PyTorch layers."""

__version__ = "0.1.0"
