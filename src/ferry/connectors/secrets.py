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
    return secret_from(env_name)[0]


def secret_from(env_name: str) -> tuple[str, str]:
    """The secret named by ``env_name`` and where it was found (``environment`` or
    ``keyring``), for a message that says where to change it; MissingSecret when neither has it."""
    value = os.environ.get(env_name)
    if value:
        return value, "environment"
    stored = _keyring(env_name)
    if stored:
        return stored, "keyring"
    raise MissingSecret(env_name)


def is_set(env_name: str) -> bool:
    """Whether the environment or the keyring holds a secret under ``env_name``."""
    return bool(os.environ.get(env_name) or _keyring(env_name))


def _keyring(env_name: str) -> str | None:
    try:  # keyring is optional; it is used when installed and holds the name
        import keyring  # type: ignore[import-not-found]

        stored = keyring.get_password("ferry", env_name)
        return str(stored) if stored else None
    except Exception:  # noqa: BLE001 - no keyring backend is a normal case
        return None
