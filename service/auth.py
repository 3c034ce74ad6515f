"""Optional API keys: `Authorization: Bearer <key>` on /v1 routes when keys are configured."""

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.errors import ProblemError

bearer = HTTPBearer(auto_error=False, description="An API key from LAYERSCOPE_API_KEYS.")


def key_matches(given: str, keys: list[str]) -> bool:
    """Compare `given` with every key in constant time (no early exit on a match)."""
    given_bytes = given.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(given_bytes, key.encode())
    return found


async def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Let the request through when no keys are set or it carries a valid one; else 401
    (`async`: a few comparisons, run on the event loop without a thread-pool hop)."""
    keys = [k.get_secret_value() for k in request.app.state.runtime.settings.api_keys]
    if not keys:
        return
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(
            401,
            "unauthorized",
            "this route needs an API key; send `Authorization: Bearer <key>`",
            title="Unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="layerscope"'},
            limit="auth",
        )
    if not key_matches(credentials.credentials, keys):
        raise ProblemError(
            401,
            "invalid-api-key",
            "the API key is not valid; check the key you send",
            title="Unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="layerscope", error="invalid_token"'},
            limit="auth",
        )
