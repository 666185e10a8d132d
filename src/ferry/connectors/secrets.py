"""Secrets come from the environment (or the OS keyring), never from files in the project."""

from __future__ import annotations

import os

from ferry.errors import ConfigError


class MissingSecret(ConfigError):
    """The named variable holds no secret (``ferry check`` names it and the key that names it)."""

    def __init__(self, env_name: str) -> None:
        super().__init__(f"secret {env_name} is not set: export {env_name}=... (or store it in"
                         " the keyring under service 'ferry')")
        self.env_name = env_name


def secret(env_name: str) -> str:
    """The value of the secret named by ``env_name``; a clear error when it is not set."""
    value = os.environ.get(env_name)
    if value:
        return value
    try:  # keyring is optional; it is used when installed and holds the name
        import keyring  # type: ignore[import-not-found]

        stored = keyring.get_password("ferry", env_name)
        if stored:
            return str(stored)
    except Exception:  # noqa: BLE001, S110 - no keyring backend is a normal case
        pass
    raise MissingSecret(env_name)
