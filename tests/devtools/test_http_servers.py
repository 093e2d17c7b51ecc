"""The local stack's front doors keep a client's connection open between requests, and answer as
werkzeug's own handler does."""
import http.client

import pytest
from flask import Flask, Response, request

from lectern_dev.http_servers import BackgroundServer, function_url_app


class EchoRunner:
    """A function that answers with what it was given (the function URL's event)."""

    def __init__(self):
        self.events = []

    def invoke_dict(self, logical_id, event):
        self.events.append(event)
        if event["rawPath"] == "/empty":
            return {"statusCode": 204, "headers": {}, "body": ""}
        return {"statusCode": 201, "headers": {"Content-Type": "application/json", "X-Echo": event["rawPath"]},
                "body": event.get("body") or ""}


@pytest.fixture
def servers():
    started = []

    def start(app, keep_alive):
        server = BackgroundServer("test", app, "127.0.0.1", 0, keep_alive=keep_alive).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def exchange(port, requests):
    """Send the requests on one connection: (status, headers without Date, body) of each answer, and
    how many TCP connections it took."""
    connects = []

    class Counted(http.client.HTTPConnection):
        def connect(self):
            connects.append(1)
            super().connect()

    connection = Counted("127.0.0.1", port, timeout=10)
    answers = []
    for method, path, body in requests:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        headers = sorted((k, v) for k, v in response.getheaders() if k not in ("Date", "Connection"))
        answers.append((response.status, headers, response.read()))
        if response.will_close:
            connection.close()
    connection.close()
    return answers, len(connects)


REQUESTS = [("POST", "/hook", b'{"id": "evt_1"}'), ("GET", "/", None), ("POST", "/empty", b"{}"),
            ("PUT", "/hook", b"x" * 70_000), ("DELETE", "/nothing", None)]


def test_a_function_url_answers_like_werkzeug_on_one_kept_connection(servers):
    plain_runner, kept_runner = EchoRunner(), EchoRunner()
    plain = servers(function_url_app(plain_runner, "Fn", 0), keep_alive=False)
    kept = servers(function_url_app(kept_runner, "Fn", 0), keep_alive=True)
    plain_answers, plain_connections = exchange(plain.port, REQUESTS)
    kept_answers, kept_connections = exchange(kept.port, REQUESTS)
    assert kept_answers == plain_answers
    assert [a[0] for a in kept_answers] == [201, 201, 204, 201, 201]
    assert (plain_connections, kept_connections) == (len(REQUESTS), 1)
    assert [e["body"] for e in kept_runner.events] == [e["body"] for e in plain_runner.events]


def test_what_it_cannot_keep_is_werkzeug_s(servers):
    app = Flask("t")

    @app.route("/", methods=["GET", "HEAD", "POST"])
    def index():
        if request.method == "POST":
            return Response(request.get_data()[::-1])
        return Response("hello")

    @app.route("/fail")
    def fail():
        raise RuntimeError("boom")

    kept = servers(app, keep_alive=True)
    connection = http.client.HTTPConnection("127.0.0.1", kept.port, timeout=10)
    connection.request("HEAD", "/")
    response = connection.getresponse()
    assert response.status == 200 and response.read() == b"" and response.will_close
    connection.close()
    connection.putrequest("POST", "/")  # a chunked body
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    connection.send(b"3\r\nabc\r\n0\r\n\r\n")
    response = connection.getresponse()
    assert response.read() == b"cba" and response.will_close
    connection.close()
    connection.request("GET", "/fail")
    response = connection.getresponse()
    assert response.status == 500 and b"Internal Server Error" in response.read() and not response.will_close
    connection.request("GET", "/")
    assert connection.getresponse().read() == b"hello"
    connection.close()


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "99999999999"])
def test_a_body_length_it_cannot_trust_is_answered_as_werkzeug_does(servers, length):
    import socket

    def raw(port) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(f"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: {length}\r\n\r\n{{}}".encode())
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        return answer.split(b"\r\n", 1)[0]

    plain = servers(function_url_app(EchoRunner(), "Fn", 0), keep_alive=False)
    kept = servers(function_url_app(EchoRunner(), "Fn", 0), keep_alive=True)
    assert raw(kept.port) == raw(plain.port)


def test_a_stopped_server_answers_nothing_on_a_kept_connection(servers):
    """A test that stops a server (Stripe "down") must not be answered on a connection kept from before."""
    runner = EchoRunner()
    server = servers(function_url_app(runner, "Fn", 0), keep_alive=True)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("POST", "/first", body=b"{}")
    assert connection.getresponse().read() == b"{}"
    server.stop()
    connection.request("POST", "/second", body=b"{}")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        connection.getresponse()
    assert [event["rawPath"] for event in runner.events] == ["/first"]
    connection.close()


def test_a_kept_connection_left_idle_is_closed_quietly(servers, monkeypatch, caplog):
    """Idle past the handler's timeout, a kept connection is closed (no thread waits on it for ever),
    and that is no error line on the stack's console."""
    import logging
    import time

    from lectern_dev.http_servers import KeepAliveHandler

    monkeypatch.setattr(KeepAliveHandler, "timeout", 0.3)
    server = servers(function_url_app(EchoRunner(), "Fn", 0), keep_alive=True)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        connection.request("POST", "/first", body=b"{}")
        assert connection.getresponse().read() == b"{}"
        time.sleep(0.8)
        assert connection.sock.recv(1) == b""  # closed by the server
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or "timed out" in r.getMessage()]
    connection.close()
