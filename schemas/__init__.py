"""The layerscope API contract: pydantic v2 request and response models.

Importable without torch, so clients can validate requests with the same models the
service uses.
"""
