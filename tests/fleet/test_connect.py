"""Reaching a Temporal cluster that is not a local dev server (Temporal Cloud, or one behind
mTLS): namespace, API key and certificates come from the environment, the same for workers and
for the people's commands, and a half-given certificate is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from ferry.errors import ConfigError
from ferry.fleet.client import connection_options


def test_a_local_dev_server_needs_nothing() -> None:
    assert connection_options({}) == {"namespace": "default"}


def test_cloud_namespace_api_key_and_mtls_from_the_environment(tmp_path: Path) -> None:
    cert, key, ca = (tmp_path / n for n in ("client.pem", "client.key", "ca.pem"))
    for f in (cert, key, ca):
        f.write_bytes(f"-----BEGIN {f.name}-----\n".encode())
    opts = connection_options({"FERRY_TEMPORAL_NAMESPACE": "clinics.a1b2c",
                               "FERRY_TEMPORAL_API_KEY": "k-123"})
    assert opts == {"namespace": "clinics.a1b2c", "api_key": "k-123", "tls": True}
    opts = connection_options({"FERRY_TEMPORAL_TLS_CERT": str(cert),
                               "FERRY_TEMPORAL_TLS_KEY": str(key),
                               "FERRY_TEMPORAL_TLS_CA": str(ca)})
    tls = opts["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key, tls.server_root_ca_cert) == (
        cert.read_bytes(), key.read_bytes(), ca.read_bytes())


def test_a_certificate_without_its_key_or_unreadable_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FERRY_TEMPORAL_TLS_CERT and FERRY_TEMPORAL_TLS_KEY"):
        connection_options({"FERRY_TEMPORAL_TLS_CERT": str(tmp_path / "c.pem")})
    with pytest.raises(ConfigError, match="FERRY_TEMPORAL_TLS_CA: cannot read"):
        connection_options({"FERRY_TEMPORAL_TLS_CA": str(tmp_path / "missing.pem")})
