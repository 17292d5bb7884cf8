#!/usr/bin/env python3
"""An independent client of the chat server, written against the documented protocol only.

Uses python-socketio (client) and requests. Given the base URL of a server in development mode, it logs two
users in through POST /api/dev/login, connects both over Socket.IO with `auth: {token}`, sends a message
with an acknowledgement, checks that the other user receives the `message.created` envelope, and reads the
result back over REST. Prints one line per check and a closing `N passed, M failed` line; exits non-zero on
any failure.

    pip install "python-socketio[client]" requests
    python3 tests/clients/python_client.py http://127.0.0.1:8080
"""

import sys
import threading
import uuid

import requests
import socketio

TIMEOUT = 10


def login(base, name):
    r = requests.post(f"{base}/api/dev/login", json={"userName": name}, timeout=TIMEOUT)
    r.raise_for_status()
    body = r.json()
    return body["token"], body["userId"]


class Peer:
    """One connected user: remembers `ready` and the events it is waiting for."""

    def __init__(self, base, token, transports):
        self.ready = threading.Event()
        self.ready_data = None
        self.created = threading.Event()
        self.created_data = None
        # eventSeqs applied so far: delivery is at least once, and a repeat is dropped (docs/events.md).
        self.applied = set()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("ready", self._on_ready)
        self.sio.on("message.created", self._on_created)
        self.sio.connect(base, auth={"token": token}, transports=transports, wait_timeout=TIMEOUT)

    def _on_ready(self, data):
        self.ready_data = data
        self.ready.set()

    def _on_created(self, data):
        seq = (data or {}).get("eventSeq")
        if isinstance(seq, int):
            if seq in self.applied:
                return
            self.applied.add(seq)
        self.created_data = data
        self.created.set()

    def close(self):
        self.sio.disconnect()


def main():
    base = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8080"
    passed, failed = 0, 0

    def check(name, condition, detail=""):
        nonlocal passed, failed
        if condition:
            passed += 1
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name} {detail}")

    suffix = uuid.uuid4().hex[:8]
    alice_token, alice_id = login(base, f"py-alice-{suffix}")
    bob_token, bob_id = login(base, f"py-bob-{suffix}")

    # One peer on WebSocket only, the other on HTTP long-polling only: both transports are exercised.
    alice = Peer(base, alice_token, ["websocket"])
    bob = Peer(base, bob_token, ["polling"])
    try:
        check("both sockets get ready", alice.ready.wait(TIMEOUT) and bob.ready.wait(TIMEOUT))
        check("ready names the user", (bob.ready_data or {}).get("userId") == bob_id, bob.ready_data)

        ack = alice.sio.call(
            "message.send",
            {"targetUserId": bob_id, "text": "hello from python", "clientMessageId": f"py-{suffix}"},
            timeout=TIMEOUT,
        )
        check("send is acknowledged ok", isinstance(ack, dict) and ack.get("ok") is True, ack)
        message = (ack or {}).get("data") or {}

        got = bob.created.wait(TIMEOUT)
        envelope = bob.created_data or {}
        check("the other user receives message.created", got, envelope)
        check(
            "the envelope carries eventSeq, type and the message",
            envelope.get("type") == "message.created"
            and isinstance(envelope.get("eventSeq"), int)
            and (envelope.get("data") or {}).get("id") == message.get("id"),
            envelope,
        )

        bad = alice.sio.call("message.send", {"text": 5}, timeout=TIMEOUT)
        check(
            "a malformed payload is acknowledged as an error",
            isinstance(bad, dict) and bad.get("ok") is False and bad["error"]["code"] == "chat.validation",
            bad,
        )

        r = requests.get(
            f"{base}/api/chat/contacts/unread-count",
            headers={"Authorization": f"Bearer {bob_token}"},
            timeout=TIMEOUT,
        )
        check("REST shows one unread message", r.status_code == 200 and r.json().get("count") == 1, r.text)

        r = requests.get(f"{base}/api/chat/conversations", timeout=TIMEOUT)
        check(
            "REST without a token is a 401 problem",
            r.status_code == 401 and r.headers.get("content-type") == "application/problem+json",
            r.text,
        )
    finally:
        alice.close()
        bob.close()

    print(f"python-client: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
