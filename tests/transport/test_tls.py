# -*- test-case-name: tests.transport.test_tls -*-
"""
The TLS certificate is generated once, kept private, and reused.
"""

import datetime
import ipaddress
import os
import stat

import pytest
from cryptography import x509
from twisted.internet import ssl

from tpbx.transport.tls import ClientTLSPolicy, loadOrCreateCertificate, serverOptions

NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)


def test_generatesPrivateKeyAndCertificate(tmp_path):
    """On first call a self-signed certificate with the given SANs is
    written under tls/, the key with mode 0600, no temporary left over."""
    files = loadOrCreateCertificate(str(tmp_path), ("pbx.example",), ("192.0.2.10",), now=NOW)
    assert files.created
    assert files.certificatePath == str(tmp_path / "tls" / "server.crt")
    assert stat.S_IMODE(os.stat(files.keyPath).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path / "tls")) == ["server.crt", "server.key"]
    with open(files.certificatePath, "rb") as f:
        certificate = x509.load_pem_x509_certificate(f.read())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["pbx.example"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("192.0.2.10")]
    assert certificate.not_valid_after_utc > NOW + datetime.timedelta(days=365)


def test_reusesExistingFiles(tmp_path):
    """A second call reuses the files unchanged."""
    first = loadOrCreateCertificate(str(tmp_path), now=NOW)
    with open(first.certificatePath, "rb") as f:
        before = f.read()
    second = loadOrCreateCertificate(str(tmp_path), now=NOW)
    assert not second.created and second.certificatePath == first.certificatePath
    with open(second.certificatePath, "rb") as f:
        assert f.read() == before


def test_certificateWithoutKeyRefused(tmp_path):
    """An installed certificate without its key is an error, never
    overwritten."""
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "server.crt").write_bytes(b"mine")
    with pytest.raises(ValueError):
        loadOrCreateCertificate(str(tmp_path))
    assert (tmp_path / "tls" / "server.crt").read_bytes() == b"mine"


def test_serverOptionsRequireTLS12(tmp_path):
    """The server context carries our certificate and refuses TLS < 1.2."""
    options = serverOptions(loadOrCreateCertificate(str(tmp_path), now=NOW))
    assert isinstance(options, ssl.CertificateOptions)
    assert options.getContext() is not None
    # CertificateOptions has no public view of the protocol floor.
    refused = ssl.SSL.OP_NO_TLSv1 | ssl.SSL.OP_NO_TLSv1_1
    assert options._options & refused == refused


def test_serverOptionsSendChain(tmp_path):
    """Certificates after the first in server.crt are sent as the chain."""
    files = loadOrCreateCertificate(str(tmp_path), now=NOW)
    with open(files.certificatePath, "rb") as f:
        pem = f.read()
    other = loadOrCreateCertificate(str(tmp_path / "other"), now=NOW)
    with open(other.certificatePath, "rb") as f:
        chained = pem + f.read()
    with open(files.certificatePath, "wb") as f:
        f.write(chained)
    options = serverOptions(files)
    assert len(options.extraCertChain) == 1


def test_clientPolicyDefaultsToNoVerification():
    """By default outbound TLS does not verify (self-signed peers); with
    verifyPeers a per-host verifying creator is built."""
    unverified = ClientTLSPolicy()
    assert unverified.optionsFor("a.example") is unverified.optionsFor("b.example")
    assert unverified.optionsFor("a.example").verify is False
    verifying = ClientTLSPolicy(verifyPeers=True)
    assert verifying.optionsFor("a.example") is not verifying.optionsFor("a.example")
