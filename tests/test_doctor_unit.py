"""`agora-bot doctor`'s certificate checks, against real TLS servers on loopback, and how its
findings read."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID

from bot.config import load_config
from bot.homeserver.doctor import FAIL, OK, WARN, Checkup, certificate_expiry, report

NOW = datetime.datetime.now(datetime.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption())


def authority() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Agora test CA"))
        .issuer_name(_name("Agora test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def leaf(
    tmp_path: Path, days: int, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None
) -> ssl.SSLContext:
    """A server context whose certificate for 127.0.0.1 expires in ``days`` (self-signed
    without ``ca``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer, signer = (ca[0].subject, ca[1]) if ca else (_name("127.0.0.1"), key)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=30))
        .not_valid_after(NOW + datetime.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(signer, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"leaf{days}.pem", tmp_path / f"leaf{days}.key"
    cert_path.write_bytes(cert.public_bytes(Encoding.PEM))
    key_path.write_bytes(_pem_key(key))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


async def serve(context: ssl.SSLContext) -> tuple[asyncio.Server, int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
def ca(tmp_path: Path):
    cert, key = authority()
    path = tmp_path / "ca.pem"
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    return cert, key, str(path)


async def test_a_valid_certificate_gives_its_expiry(tmp_path: Path, ca):
    server, port = await serve(leaf(tmp_path, 90, ca[:2]))
    try:
        expires = await certificate_expiry("127.0.0.1", port, cafile=ca[2])
    finally:
        server.close()
    assert 88 <= (expires - NOW).days <= 90


async def test_a_self_signed_certificate_is_refused_with_the_reason(tmp_path: Path, ca):
    server, port = await serve(leaf(tmp_path, 90, None))
    try:
        with pytest.raises(ssl.SSLCertVerificationError) as refused:
            await certificate_expiry("127.0.0.1", port, cafile=ca[2])
    finally:
        server.close()
    assert "self-signed" in refused.value.verify_message or "self signed" in str(refused.value)


async def test_an_expired_certificate_is_refused(tmp_path: Path, ca):
    server, port = await serve(leaf(tmp_path, -2, ca[:2]))
    try:
        with pytest.raises(ssl.SSLCertVerificationError) as refused:
            await certificate_expiry("127.0.0.1", port, cafile=ca[2])
    finally:
        server.close()
    assert "expired" in refused.value.verify_message


def checkup(locale: str = "fr") -> Checkup:
    config = dataclasses.replace(load_config("config.example.yaml", env={}), locale=locale)
    return Checkup(config, Path("data"), None)  # type: ignore[arg-type]  # no request made


def test_expiry_soon_is_a_warning_and_past_a_failure_in_the_operators_language():
    french = checkup("fr")
    french._expiry("matrix.example.org:443", NOW + datetime.timedelta(days=200), NOW)
    french._expiry("matrix.example.org:8448", NOW + datetime.timedelta(days=10, hours=1), NOW)
    french._expiry("agora.example.org:443", NOW - datetime.timedelta(days=1), NOW)
    assert [f.level for f in french.findings] == [OK, WARN, FAIL]
    assert "expire le" in french.findings[1].text and "10 jours" in french.findings[1].text
    english = checkup("en")
    english._expiry("matrix.example.org:443", NOW + datetime.timedelta(days=5, hours=1), NOW)
    assert "expires on" in english.findings[0].text and "in 5 days" in english.findings[0].text


def test_the_report_shows_each_fix_and_exits_1_only_for_failures():
    c = checkup("en")
    c.ok("fine")
    c.warn("hmm", "look at it")
    text, code = report(c)
    assert code == 0 and "✅ fine" in text and "→ look at it" in text and "Warnings: 1." in text
    c.fail("broken", "mend it")
    text, code = report(c)
    assert code == 1 and "❌ broken" in text and "→ mend it" in text and "To fix: 1." in text
