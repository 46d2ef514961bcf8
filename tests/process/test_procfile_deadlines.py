"""The request deadline behind gunicorn as the Procfile runs it, with an AWS that hangs once the broker started."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from testing.harness import new_id
from testing.procfile import procfile_server

STS_IDENTITY = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
    b"<Arn>arn:aws:iam::123456789012:user/s3-broker</Arn><UserId>AIDAHUNG</UserId><Account>123456789012</Account>"
    b"</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
    b"</GetCallerIdentityResponse>"
)
# The start-up's namespace check lists the buckets of the prefix (broker/aws/bucket_namespace.py): none.
NO_BUCKETS = (
    b'<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>hung</ID></Owner>'
    b"<Buckets></Buckets></ListAllMyBucketsResult>"
)


def answer(connection: socket.socket, body: bytes) -> None:
    connection.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    connection.close()


@pytest.fixture
def hangs_after_start() -> Iterator[str]:
    """An AWS that answers the start-up checks (STS GetCallerIdentity, the namespace's ListBuckets) and then
    hangs on every other call."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def serve(connection: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(65536)
            if not chunk:
                return
            request += chunk
        head, _, body = request.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
        )
        while len(body) < length:
            body += connection.recv(65536)
        target = head.split(b" ", 2)[1]
        if b"GetCallerIdentity" in body:
            answer(connection, STS_IDENTITY)
        elif head.startswith(b"GET ") and target.split(b"?")[0] == b"/":
            answer(connection, NO_BUCKETS)
        else:
            held.append(connection)  # never answered, as a hung S3 or IAM

    def accept() -> None:
        while True:
            try:
                connection = listener.accept()[0]
            except OSError:
                return
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for connection in held:
        connection.close()


def test_under_the_procfiles_server_a_hung_aws_gives_503_and_health_still_answers(hangs_after_start: str) -> None:
    """AWS that stops answering once the broker has started, behind gunicorn as the Procfile runs it."""
    settings = {
        "BROKER_USERNAME": "cc",
        "BROKER_PASSWORD": "pw",
        "AWS_ENDPOINT_URL": hangs_after_start,
        "AWS_ACCESS_KEY_ID": "hung",
        "AWS_SECRET_ACCESS_KEY": "hung",
        "AWS_REGION": "eu-west-2",
        "REQUEST_DEADLINE": "2",
        "AWS_READ_TIMEOUT": "1",  # each attempt waits this long on the hung AWS (production: 6 s)
        "LOG_LEVEL": "CRITICAL",
    }
    with procfile_server(settings) as port:
        url = f"http://127.0.0.1:{port}"
        answers: list[requests.Response] = []

        def read_instance() -> None:
            headers = {"X-Broker-API-Version": "2.17"}
            answers.append(
                requests.get(f"{url}/v2/service_instances/{new_id()}", auth=("cc", "pw"), headers=headers, timeout=60)
            )

        waiting = [threading.Thread(target=read_instance) for _ in range(20)]
        for thread in waiting:
            thread.start()
        assert requests.get(f"{url}/health", timeout=5).status_code == 200
        for thread in waiting:
            thread.join()
    assert [answer.status_code for answer in answers] == [503] * 20
    assert "while calling S3 GetBucketTagging" in answers[0].json()["description"]
