"""The local stack's HTTP front doors, each a werkzeug server on loopback.

- the HTTP API: SAM CLI's own local API Gateway (routes from template.yaml,
  payload 2.0 events, `$default` catch-all) with our in-process runner in
  place of its Docker runner;
- the webhook function URL: a Lambda function URL in front of the function
  the template gives a FunctionUrlConfig (same payload 2.0 event shape);
- the dev pages: mailbox of every email sent, Swagger UI, the OpenAPI document.
"""
import io
import json
import threading
import time
import traceback
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, request
from werkzeug.http import http_date
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from lectern_dev import template as tpl


MAX_KEPT_BODY = 8 * 1024 * 1024  # above Lambda's 6 MB payload: a larger body is werkzeug's to refuse


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler, keeping the client's connection open after an answer, as API Gateway
    and function URLs do. werkzeug closes every connection (it cannot tell where an unread body ends),
    so each request cost a TCP connection and a server thread, on both sides. A request whose body
    length is known (Content-Length, or none at all) is read whole first; the app's answer is written
    in one piece with its length, and the connection then waits for the client's next request. Anything
    else (chunked or 100-continue bodies, a Content-Length that is not one plain number up to
    MAX_KEPT_BODY, HEAD, HTTP/1.0, `Connection: close`) is werkzeug's, as before.

    A kept connection idle for `timeout` seconds is closed, and one whose server has been stopped is
    hung up on at its next request, unanswered: a stopped server (a Stripe "down" in a test) answers
    nothing, on new connections or kept ones."""

    timeout = 60

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        if format.startswith("Request timed out"):  # a kept connection left idle: closed, as intended
            return
        super().log_error(format, *args)

    def parse_request(self) -> bool:
        # Here, not in run_wsgi: a subclass that answers some requests itself (the embedded AWS's
        # DynamoDB) must not answer them on a stopped server either.
        if not super().parse_request():
            return False
        if self.server.socket.fileno() == -1:  # the server was stopped (server_close) while this was kept
            self.close_connection = True
            return False
        return True

    def run_wsgi(self) -> None:
        headers = self.headers
        lengths = headers.get_all("Content-Length") or ["0"]
        if (self.request_version != "HTTP/1.1" or self.command == "HEAD" or "Transfer-Encoding" in headers
                or "Expect" in headers or self.close_connection or len(lengths) != 1
                or not (lengths[0].isascii() and lengths[0].isdigit() and int(lengths[0]) <= MAX_KEPT_BODY)):
            return super().run_wsgi()
        body = self.rfile.read(int(lengths[0]))
        self.environ = environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.input_terminated"] = True
        answer: dict[str, Any] = {}

        def start_response(status, response_headers, exc_info=None):
            if exc_info and answer:
                raise exc_info[1].with_traceback(exc_info[2])
            answer["status"], answer["headers"] = status, response_headers
            return lambda data: answer.setdefault("written", []).append(data)

        try:
            chunks = self.server.app(environ, start_response)
            try:
                parts = list(chunks)
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()
            data = b"".join(answer.pop("written", []) + parts)
        except Exception:  # noqa: BLE001 - what werkzeug's handler answers when the app fails
            from werkzeug.exceptions import InternalServerError

            self.server.log("error", "Error on request:\n%s", traceback.format_exc())
            answer = {}
            data = b"".join(InternalServerError()(environ, start_response))
        code = int(answer["status"].split(None, 1)[0])
        lines = [f"{self.protocol_version} {answer['status']}", f"Server: {self.version_string()}",
                 f"Date: {http_date()}"]
        lines += [f"{name}: {value}" for name, value in answer["headers"] if name.lower() != "content-length"]
        if code >= 200 and code not in (204, 304):
            lines.append(f"Content-Length: {len(data)}")
        else:
            data = b""
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
        self.log_request(code, len(data))


class BackgroundServer:
    """A threaded werkzeug server that starts in the background and stops on demand; `keep_alive`:
    its connections stay open between requests (KeepAliveHandler)."""

    def __init__(self, name: str, app: Any, host: str, port: int, *, keep_alive: bool = False):
        self.name = name
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True,
                                                   request_handler=KeepAliveHandler if keep_alive else None)
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    def start(self) -> "BackgroundServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def stop_all(servers: list[BackgroundServer]) -> None:
    """Stop servers side by side: each shutdown waits up to a poll interval (0.5 s) for its loop."""
    threads = [threading.Thread(target=server.stop, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)


def api_gateway_app(runner: Any, port: int) -> Any:
    """SAM CLI's LocalApigwService, fed the template's routes and our runner."""
    import logging

    from samcli.lib.providers.api_provider import ApiProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    from samcli.local.apigw.event_constructor import construct_v2_event_http
    from samcli.local.apigw.path_converter import PathConverter
    from samcli.local.apigw.route import Route

    from lectern_dev import gateway_body

    class AwsBodiesApigwService(LocalApigwService):
        """Payload 2.0 events whose body is base64-encoded when it is not UTF-8, as API Gateway's
        (SAM's own answers 502 for such a body without calling the function)."""

        def _generate_lambda_event(self, flask_request, route, method, endpoint):
            if route.event_type != Route.HTTP or route.payload_format_version not in (None, "2.0"):
                return super()._generate_lambda_event(flask_request, route, method, endpoint)
            route_key = self._v2_route_key(method, PathConverter.convert_path_to_api_gateway(endpoint),
                                           route.is_default_route)
            return construct_v2_event_http(
                flask_request=flask_request, port=self.port,
                binary_types=gateway_body.binary_types_for(flask_request.get_data(), self.api.binary_media_types),
                stage_name=self.api.stage_name, stage_variables=self.api.stage_variables, route_key=route_key)

    logging.getLogger("samcli").setLevel(logging.WARNING)
    stacks, _ = SamLocalStackProvider.get_stacks(template_file=str(tpl.TEMPLATE_PATH))
    api = ApiProvider(stacks, cwd=str(tpl.REPO_ROOT)).api
    service = AwsBodiesApigwService(api=api, lambda_runner=runner, port=port, host="127.0.0.1")
    service.create()
    return service._app, api.routes


def function_url_app(runner: Any, logical_id: str, port: int) -> Flask:
    """What a Lambda function URL does: any method and path → one payload 2.0 event → the function."""
    from samcli.local.apigw.event_constructor import construct_v2_event_http
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    app = Flask(f"function-url-{logical_id}")

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
    def invoke(path: str) -> Response:
        now = datetime.now(timezone.utc)
        from lectern_dev import gateway_body

        event = construct_v2_event_http(
            request, port, binary_types=gateway_body.binary_types_for(request.get_data(), []),
            stage_name="$default", route_key="$default",
            request_time_epoch=int(time.time() * 1000), request_time=now.strftime("%d/%b/%Y:%H:%M:%S +0000"))
        output = runner.invoke_dict(logical_id, event)
        if isinstance(output, dict) and "errorType" in output and "statusCode" not in output:
            return Response(json.dumps({"message": "Internal Server Error"}), status=502,
                            content_type="application/json")
        status, headers, body = LocalApigwService._parse_v2_payload_format_lambda_output(
            json.dumps(output), binary_types=[], flask_request=request)
        return Response(body, status=status, headers=dict(headers))

    return app
