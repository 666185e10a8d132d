"""OAuth for a CLI: client credentials (My Domain) or JWT bearer (RS256), or a given token.

Username-password is deliberately absent: it is blocked by default in orgs since Summer '23 and
the SOAP login dies at API 65. Secrets are read from the environment at the moment of use and
never logged or put in exceptions.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ferry.connectors.secrets import secret
from ferry.errors import ConfigError, FatalError, RetriableError

if TYPE_CHECKING:
    from ferry.destinations.salesforce import Settings

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Token:
    access_token: str
    instance_url: str
    user_id: str | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_assertion(client_id: str, username: str, audience: str, key_pem: bytes) -> str:
    """An RS256-signed assertion valid for three minutes (the platform's maximum skew)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("the JWT key must be an RSA private key (RS256 only)")
    head = _b64(json.dumps({"alg": "RS256"}).encode())
    claims = _b64(json.dumps({"iss": client_id, "sub": username, "aud": audience,
                              "exp": int(time.time()) + 180}).encode())
    signature = key.sign(f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{claims}.{_b64(signature)}"


def fetch_token(settings: Settings, http: httpx.Client) -> Token:
    """Log in with the configured flow; raise FatalError/ConfigError on refusal."""
    if settings.auth == "access_token":
        if not settings.instance_url:
            raise ConfigError("auth=access_token needs instance_url")
        return Token(secret(settings.access_token_env), settings.instance_url.rstrip("/"), None)
    url = settings.login_url.rstrip("/") + "/services/oauth2/token"
    client_id = secret(settings.client_id_env)
    if settings.auth == "client_credentials":
        form = {"grant_type": "client_credentials", "client_id": client_id,
                "client_secret": secret(settings.client_secret_env)}
    else:
        if not settings.username:
            raise ConfigError("auth=jwt needs username (the integration user's username)")
        key_path = Path(secret(settings.jwt_key_path_env))
        if not key_path.is_file():
            raise ConfigError(f"the JWT key file named by {settings.jwt_key_path_env} does"
                              " not exist")
        form = {"grant_type": JWT_GRANT,
                "assertion": jwt_assertion(client_id, settings.username,
                                           settings.audience or settings.login_url.rstrip("/"),
                                           key_path.read_bytes())}
    response = http.post(url, data=form)
    if response.status_code >= 500 or response.status_code == 429:
        raise RetriableError(f"Salesforce login unavailable ({response.status_code})",
                             status=response.status_code, system="salesforce")
    if response.status_code != 200:
        try:
            body = response.json()
            error = str(body.get("error", "unknown")) if isinstance(body, dict) else "unknown"
        except ValueError:
            error = "unknown"
        raise FatalError(f"Salesforce login refused ({error}); check the connected app, its"
                         " credentials and the login URL", status=response.status_code,
                         system="salesforce")
    body = response.json()
    user_id = str(body.get("id", "")).rstrip("/").rsplit("/", 1)[-1] or None
    instance = str(body.get("instance_url") or settings.instance_url or "").rstrip("/")
    if not instance:
        raise FatalError("Salesforce login returned no instance_url", system="salesforce")
    return Token(str(body["access_token"]), instance, user_id)


def env_present(name: str) -> bool:
    return bool(os.environ.get(name))
