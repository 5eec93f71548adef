"""A stdlib HTTP server on 127.0.0.1 in a daemon thread, shut down by the fixture that made it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Request:
    """What a fake saw: method, path, query, headers, raw body (and form or JSON, parsed)."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(handler.path)
        self.method = handler.command
        self.path = parts.path
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.raw_query = parts.query
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        self.body = body
        kind = self.headers.get("content-type", "")
        self.form = (parse_qs(body.decode(), keep_blank_values=True)
                     if kind.startswith("application/x-www-form-urlencoded") else {})

    def json(self):
        return json.loads(self.body)


class LoopbackServer:
    """Runs ``app(request) -> (status, headers, body)`` for every request."""

    def __init__(self, app) -> None:
        self.app = app
        self.requests: list[Request] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self, self.rfile.read(length) if length else b"")
                outer.requests.append(request)
                status, headers, body = outer.app(request)
                if not isinstance(body, (bytes, str)):
                    body = json.dumps(body)
                    headers = {"Content-Type": "application/json; charset=utf-8", **headers}
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
