"""A throwaway certificate authority for TLS tests (trustme): a server certificate for
127.0.0.1 and localhost, and client certificates, as PEM files a Kafka client loads."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class ClientCertificate:
    certfile: Path
    keyfile: Path


@dataclass(frozen=True)
class Authority:
    ca: trustme.CA
    cafile: Path
    """The CA certificate, for JOURNEYMAP_KAFKA_SSL_CAFILE."""
    server: trustme.LeafCert
    directory: Path

    def server_context(self, *, client_certificates: bool = False) -> ssl.SSLContext:
        """A server's TLS context; with `client_certificates`, a client must present a
        certificate this authority signed."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server.configure_cert(context)
        if client_certificates:
            context.verify_mode = ssl.CERT_REQUIRED
            self.ca.configure_trust(context)
        return context

    def client_certificate(self, name: str) -> ClientCertificate:
        """A client certificate (and its key) signed by this authority."""
        return _write_leaf(self.ca.issue_cert(f"{name}.clients.test"), self.directory / name)


def new_authority(directory: Path) -> Authority:
    """A new CA whose files live in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="journeymap tests")
    cafile = directory / "ca.pem"
    ca.cert_pem.write_to_path(cafile)
    return Authority(ca, cafile, ca.issue_cert("127.0.0.1", "localhost"), directory)


def _write_leaf(leaf: trustme.LeafCert, stem: Path) -> ClientCertificate:
    certfile, keyfile = stem.with_suffix(".crt.pem"), stem.with_suffix(".key.pem")
    with certfile.open("wb") as out:
        for pem in leaf.cert_chain_pems:
            out.write(pem.bytes())
    leaf.private_key_pem.write_to_path(keyfile)
    return ClientCertificate(certfile, keyfile)
