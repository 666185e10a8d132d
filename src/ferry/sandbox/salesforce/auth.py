"""The OAuth token endpoint: JWT bearer and client credentials, as a connected app answers them.

The JWT is checked the way the platform checks it (RS256 signature against the certificate the
app holds, ``iss`` = consumer key, ``aud`` = a login host, ``exp`` in the future with ~3 minutes
of skew, ``sub`` = an existing username), because a loader whose assertion is wrong must fail
here, not in production. The username-password flow answers as a post-Summer-'23 org does: blocked.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from hashlib import sha256
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import Request
from fastapi.responses import JSONResponse

from ferry.sandbox.salesforce.state import ORG_ID, Org

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCES = {"https://login.salesforce.com", "https://test.salesforce.com"}


def _b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


class TokenEndpoint:
    def __init__(self, org: Org, client_id: str, client_secret: str,
                 public_key: rsa.RSAPublicKey) -> None:
        self.org = org
        self.client_id = client_id
        self.client_secret = client_secret
        self.public_key = public_key

    async def __call__(self, request: Request) -> JSONResponse:
        form = await request.form()
        grant = str(form.get("grant_type", ""))
        base = str(request.base_url).rstrip("/")
        if grant == "client_credentials":
            cid, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
            basic = request.headers.get("authorization", "")
            if basic.lower().startswith("basic "):
                cid, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            if cid != self.client_id:
                return _oauth_error("invalid_client_id", "client identifier invalid")
            if not hmac.compare_digest(secret, self.client_secret):
                return _oauth_error("invalid_client", "invalid client credentials")
            return self._token(self.org.integration_user, base)
        if grant == JWT_GRANT:
            return self._jwt(str(form.get("assertion", "")), base)
        if grant == "password":
            return _oauth_error("invalid_grant", "authentication failure")
        return _oauth_error("unsupported_grant_type", "grant type not supported")

    def _jwt(self, assertion: str, base: str) -> JSONResponse:
        try:
            head_b, claims_b, sig_b = assertion.split(".")
            header = json.loads(_b64d(head_b))
            claims = json.loads(_b64d(claims_b))
        except (ValueError, json.JSONDecodeError):
            return _oauth_error("invalid_grant", "invalid assertion")
        if header.get("alg") != "RS256":
            return _oauth_error("invalid_grant", "invalid assertion: only RS256 is accepted")
        try:
            self.public_key.verify(_b64d(sig_b), f"{head_b}.{claims_b}".encode(),
                                   padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return _oauth_error("invalid_grant", "invalid assertion: signature")
        if claims.get("iss") != self.client_id:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if str(claims.get("aud", "")).rstrip("/") not in AUDIENCES | {base}:
            return _oauth_error("invalid_grant", "audience is invalid")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + 180 < time.time():
            return _oauth_error("invalid_grant", "expired authorization code")
        user = self.org.user_by_username(str(claims.get("sub", "")))
        if user is None:
            return _oauth_error("invalid_grant", "user hasn't approved this consumer")
        return self._token(user, base)

    def _token(self, user_id: str, base: str) -> JSONResponse:
        session = self.org.open_session(user_id)
        ident = f"{base}/id/{ORG_ID}/{user_id}"
        issued = str(int(time.time() * 1000))
        signature = base64.b64encode(hmac.new(self.client_secret.encode(),
                                              (ident + issued).encode(), sha256).digest())
        body: dict[str, Any] = {"access_token": session.token, "instance_url": base,
                                "id": ident, "token_type": "Bearer", "issued_at": issued,
                                "signature": signature.decode(), "scope": "api"}
        return JSONResponse(body)
