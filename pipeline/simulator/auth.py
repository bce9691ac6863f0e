"""Who may call: the partner API key, or bearer tokens from POST /token that expire."""

from __future__ import annotations

import base64
import hmac
import json
import secrets

from .clock import SimulatorClock
from .errors import ApiError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Credentials:
    """Checks the API key and issued tokens; secrets never leave this object except as tokens."""

    def __init__(
        self,
        api_key: str,
        username: str,
        password: str,
        token_ttl_seconds: float,
        clock: SimulatorClock | None = None,
    ) -> None:
        self._clock = clock or SimulatorClock()
        self._api_key = api_key
        self._username = username
        self._password = password
        self.token_ttl_seconds = token_ttl_seconds
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self._signing_key = secrets.token_bytes(32)

    def __repr__(self) -> str:
        return f"Credentials(tokens={len(self._tokens)})"

    def issue_token(self, username: str, password: str) -> str:
        if not (
            hmac.compare_digest(username, self._username)
            and hmac.compare_digest(password, self._password)
        ):
            raise ApiError(401, "Invalid username or password")
        # Shaped like a JWT, as the vendor's bearerFormat says; validity is the server's lookup.
        expires = self._clock.wall() + self.token_ttl_seconds
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(
            json.dumps({"sub": username, "exp": int(expires), "jti": secrets.token_hex(8)}).encode()
        )
        signature = _b64(
            hmac.new(self._signing_key, f"{header}.{payload}".encode(), "sha256").digest()
        )
        token = f"{header}.{payload}.{signature}"
        self._tokens[token] = self._clock.monotonic() + self.token_ttl_seconds
        return token

    def revoke_all_tokens(self) -> None:
        self._tokens.clear()

    def check(self, api_key: str | None, authorization: str | None) -> str:
        """Returns how the caller authenticated ("api_key" or "bearer"), else raises a 401."""
        if api_key is not None:
            if hmac.compare_digest(api_key, self._api_key):
                return "api_key"
            raise ApiError(401, "Invalid API key", ["X-API-Key is not a valid partner API key"])
        if authorization is None:
            raise ApiError(
                401,
                "Authentication required",
                ["send X-API-Key, or Authorization: Bearer <token> from POST /token"],
            )
        scheme, _, token = authorization.partition(" ")
        expiry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None or expiry <= self._clock.monotonic():
            self._tokens.pop(token.strip(), None)
            raise ApiError(401, "Invalid or expired token", ["log in again at POST /token"])
        return "bearer"
