"""A throwaway certificate authority, so the agent's ``curl https://backboard.railway.app`` is
answered by the fake Railway on this machine.

The agent's command must read exactly as in the incident (the hook judges the text it sees), so
the URL names Railway's real host. curl is pointed at 127.0.0.1 by its own configuration file
(``connect-to`` and ``cacert`` in ``$CURL_HOME/.curlrc``, see :func:`curl_config`), not by
anything in the command. The CA and its key live in the run's scratch folder and die with it.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

RAILWAY_HOSTS = ("backboard.railway.app", "backboard.railway.com")


@dataclass(frozen=True)
class Certificate:
    ca: Path
    """The CA certificate clients trust (PEM)."""
    cert: Path
    key: Path


def issue(folder: Path, hosts: tuple[str, ...] = RAILWAY_HOSTS) -> Certificate:
    """A CA and a server certificate for ``hosts`` and 127.0.0.1, valid for one day."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Interlock replay CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in hosts]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificate(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths.key.chmod(0o600)
    return paths


def curl_config(
    curl_home: Path, ca: Path, port: int, hosts: tuple[str, ...] = RAILWAY_HOSTS
) -> None:
    """``$CURL_HOME/.curlrc`` sending ``https://<host>`` to 127.0.0.1:``port``, trusting ``ca``."""
    curl_home.mkdir(parents=True, exist_ok=True)
    lines = [f'connect-to = "{host}:443:127.0.0.1:{port}"' for host in hosts]
    lines.append(f'cacert = "{ca}"')
    (curl_home / ".curlrc").write_text("\n".join(lines) + "\n", "utf-8")
