"""A self-signed certificate for 127.0.0.1, made at start, so the local backend serves HTTPS too.

Both schemes answer from one moto, so a test can try a TLS-only bucket over HTTP and over HTTPS
(aws:SecureTransport comes from the scheme). Clients trust it by its file (boto3's `verify`).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERTIFICATE, PRIVATE_KEY = "local-aws.pem", "local-aws.key"


def make_certificate(directory: Path, host: str = "127.0.0.1") -> Path:
    """Write a certificate valid for `host` (an IP address) and its key into `directory`; the certificate's path."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s3-broker local AWS")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / PRIVATE_KEY).write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (directory / PRIVATE_KEY).chmod(0o600)
    path = directory / CERTIFICATE
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def server_context(directory: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / CERTIFICATE, directory / PRIVATE_KEY)
    return context
