"""Real receivers for the delivery tests: an SMTP server (aiosmtpd) and an HTTP server, both in this process on
their own threads, recording what arrives. Each keeps every arrival and, like a careful real receiver, drops a
message whose idempotency key it has already seen."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Arrival:
    key: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() on arrival


@dataclass
class Inbox:
    """Every arrival in order, and the accepted ones (first of each idempotency key)."""

    arrivals: list[Arrival] = field(default_factory=list)
    accepted: dict[str, Arrival] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, arrival: Arrival) -> None:
        with self.lock:
            self.arrivals.append(arrival)
            self.accepted.setdefault(arrival.key, arrival)

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.accepted)} of {count} messages arrived within {timeout} s")
            time.sleep(0.02)


class SmtpReceiver:
    """aiosmtpd on a free port; ``refuse`` makes it answer 550 to every message; ``smtp_parameters`` go to
    aiosmtpd's SMTP (STARTTLS context, authenticator)."""

    def __init__(self, **smtp_parameters: object) -> None:
        self.inbox = Inbox()
        self.refuse = False
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **smtp_parameters)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's handler hook
        if self.refuse:
            return "550 5.7.1 Mensaje rechazado / message refused"
        message: Message = message_from_bytes(envelope.content)
        self.inbox.record(Arrival(str(message["Message-ID"]), {k: str(v) for k, v in message.items()},
                                  message.get_payload(decode=True) or b"", time.time()))
        return "250 OK"

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()


class HttpReceiver:
    """An HTTP server recording POSTs by their ``Idempotency-Key``; ``status`` is what it answers, and
    ``hold`` (an Event) makes it wait before answering until the event is set."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.status = 200
        self.hold: threading.Event | None = None
        self.received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's handler hook
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.received.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                if 200 <= receiver.status < 300:
                    receiver.inbox.record(Arrival(self.headers.get("Idempotency-Key", ""), dict(self.headers.items()),
                                                  body, time.time()))
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender died while the answer was held back (the worker-crash test)
                    pass

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def json(self, key: str) -> dict:
        return json.loads(self.inbox.accepted[key].body)

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self._server.shutdown()
        self._server.server_close()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files), valid for a day: the test's own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp-de-prueba")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp.pem", directory / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
