# -*- test-case-name: tests.transport.test_tls -*-
"""
The TLS certificate of the SIP/TLS listener and the TLS options of both ends.

tpbx is secure by default (DESIGN.md, "Principles"): SIP over TLS is offered
from the first start, so when the administrator has not installed a
certificate as C{<data>/tls/server.crt} + C{server.key}, a self-signed one
(EC P-256, with subject alternative names for the given host names and IP
addresses) is generated once and kept.  Files are written atomically (temp +
rename) and the key is readable by its owner only (mode 0600).

Outbound TLS connections (to trunks, sister PBXes, phones with a TLS
contact) do not verify the peer's certificate by default, because SIP peers on
a LAN commonly present self-signed certificates; L{ClientTLSPolicy} can be
made to verify against a trust root, checking the host name (RFC 5922).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import ssl

__all__ = [
    "CertificateFiles", "loadOrCreateCertificate", "serverOptions",
    "ClientTLSPolicy", "CERTIFICATE_NAME", "KEY_NAME", "VALIDITY_DAYS",
]

CERTIFICATE_NAME = "server.crt"
KEY_NAME = "server.key"
VALIDITY_DAYS = 3650


@dataclass(frozen=True)
class CertificateFiles:
    """
    Where the server certificate and key are.

    @ivar certificatePath: PEM file; the first certificate is ours, any
        following ones are the chain sent to clients.
    @ivar keyPath: PEM private key, mode 0600 when tpbx created it.
    @ivar created: whether this call generated them.
    """

    certificatePath: str
    keyPath: str
    created: bool


def loadOrCreateCertificate(dataDir: str, hostnames=("localhost",),
                            ips=("127.0.0.1",), now=None) -> CertificateFiles:
    """
    Find the TLS certificate under C{<dataDir>/tls/}, generating a
    self-signed one when there is none.

    @param dataDir: the tpbx data directory.
    @param hostnames: DNS names for the subject alternative names; the
        first is also the common name.
    @param ips: IP addresses (text) for the subject alternative names.
    @param now: the C{datetime} the certificate becomes valid at (defaults
        to the current UTC time; tests pass a fixed one).
    @return: the files' paths.
    @raise ValueError: when a certificate exists without its key (an
        installation mistake tpbx must not paper over by overwriting it).
    """
    directory = os.path.join(dataDir, "tls")
    certPath = os.path.join(directory, CERTIFICATE_NAME)
    keyPath = os.path.join(directory, KEY_NAME)
    if os.path.exists(certPath):
        if not os.path.exists(keyPath):
            raise ValueError(f"{certPath} exists but {keyPath} does not")
        return CertificateFiles(certPath, keyPath, False)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _selfSigned(key, hostnames, ips, now)
    # The key first: a crash between the two leaves no certificate, so the
    # next start generates both again.
    _writeAtomically(keyPath, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    _writeAtomically(certPath, certificate.public_bytes(serialization.Encoding.PEM))
    return CertificateFiles(certPath, keyPath, True)


def _selfSigned(key, hostnames, ips, now) -> x509.Certificate:
    """
    @return: a self-signed server certificate for C{key}.
    """
    if now is None:
        now = datetime.datetime.now(datetime.timezone.utc)
    names = [x509.DNSName(h) for h in hostnames]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, (list(hostnames) or ["tpbx"])[0]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tpbx self-signed"),
    ])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([
            x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
            x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names),
                                        critical=False)
    return builder.sign(key, hashes.SHA256())


def _writeAtomically(path: str, data: bytes) -> None:
    """
    Write C{data} to C{path} through a temporary file created with mode
    0600 and renamed over C{path}, so readers never see half a file.
    """
    temporary = f"{path}.tmp{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def serverOptions(files: CertificateFiles) -> ssl.CertificateOptions:
    """
    Build the context factory of the TLS listener: TLS 1.2 or later, our
    certificate and its chain, no client certificate required.

    @param files: from L{loadOrCreateCertificate}.
    @return: a L{CertificateOptions} for C{listenSSL}.
    @raise ValueError: when the files hold no certificate or key.
    """
    with open(files.certificatePath, "rb") as f:
        chain = x509.load_pem_x509_certificates(f.read())
    with open(files.keyPath, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    return ssl.CertificateOptions(
        privateKey=key, certificate=chain[0], extraCertChain=chain[1:] or None,
        raiseMinimumTo=ssl.TLSVersion.TLSv1_2)


class ClientTLSPolicy:
    """
    How tpbx checks the servers it connects to over TLS.

    By default it does not verify them (self-signed certificates are the
    norm among SIP peers); with C{verifyPeers=True} the peer's chain must
    lead to C{trustRoot} (or the platform's trust store) and name the host
    connected to.
    """

    def __init__(self, verifyPeers: bool = False, trustRoot=None):
        """
        @param verifyPeers: whether to verify peer certificates.
        @param trustRoot: an L{IOpenSSLTrustRoot} (e.g. from
            L{ssl.trustRootFromCertificates}); L{None} means the platform's.
        """
        self.verifyPeers = verifyPeers
        self._trustRoot = trustRoot
        self._unverified = ssl.CertificateOptions(
            verify=False, raiseMinimumTo=ssl.TLSVersion.TLSv1_2)

    def optionsFor(self, hostname: str):
        """
        @param hostname: the host name or address being connected to.
        @return: a context factory for C{connectSSL}.
        """
        if not self.verifyPeers:
            return self._unverified
        return ssl.optionsForClientTLS(
            hostname, trustRoot=self._trustRoot or ssl.platformTrust())
