"""HTTPS subscribers: deliveries over TLS, verified against the trust store nimbus runs with
(`SSL_CERT_FILE` adds a local certificate authority), and refused when the endpoint's
certificate does not verify.

https://docs.aws.amazon.com/sns/latest/dg/sns-http-https-endpoint-as-subscriber.html
"""

from __future__ import annotations

import datetime
import ipaddress
import queue as queue_module
import ssl
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from nimbus_harness import NimbusServer
from sns_helpers import HttpSubscriber


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_authority(directory: Path, label: str) -> tuple[Path, ssl.SSLContext]:
    """A certificate authority (its PEM file) and a server context for 127.0.0.1 signed by it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"nimbus test CA {label}"))
        .issuer_name(_name(f"nimbus test CA {label}"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / f"ca-{label}.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = directory / f"server-{label}.pem"
    chain.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + leaf.public_bytes(serialization.Encoding.PEM)
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return ca_file, context


@pytest.fixture
def trusted(tmp_path, monkeypatch):
    """nimbus started trusting one local authority; yields (server, that authority's context)."""
    ca_file, context = make_authority(tmp_path, "trusted")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    server = NimbusServer().start()
    yield server, context
    server.stop()


def test_https_endpoint_confirms_and_receives_notifications(trusted):
    server, context = trusted
    endpoint = HttpSubscriber(tls=context)
    try:
        sns = server.client("sns")
        topic = sns.create_topic(Name="secure")["TopicArn"]
        arn = sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=endpoint.url, ReturnSubscriptionArn=True)[
            "SubscriptionArn"
        ]
        headers, confirmation = endpoint.next_json()
        assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
        urllib.request.urlopen(confirmation["SubscribeURL"]).read()
        attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        assert attributes["PendingConfirmation"] == "false"

        sns.publish(TopicArn=topic, Message="over tls", Subject="s")
        headers, notification = endpoint.next_json()
        assert headers["x-amz-sns-message-type"] == "Notification"
        assert headers["x-amz-sns-subscription-arn"] == arn
        assert notification["Message"] == "over tls"
        assert notification["Subject"] == "s"
    finally:
        endpoint.close()


def test_endpoint_with_an_untrusted_certificate_gets_nothing(trusted, tmp_path):
    server, _ = trusted
    _, stranger = make_authority(tmp_path, "stranger")
    endpoint = HttpSubscriber(tls=stranger)
    try:
        sns = server.client("sns")
        topic = sns.create_topic(Name="secure")["TopicArn"]
        arn = sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=endpoint.url, ReturnSubscriptionArn=True)[
            "SubscriptionArn"
        ]
        # The handshake fails before any request is sent, so the endpoint records nothing.
        with pytest.raises(queue_module.Empty):
            endpoint.next(timeout=3)
        attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        assert attributes["PendingConfirmation"] == "true"
    finally:
        endpoint.close()
