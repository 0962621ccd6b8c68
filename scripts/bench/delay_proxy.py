#!/usr/bin/env python3
"""A reverse proxy that holds every response back, like a far-away server.

Usage: delay_proxy.py LISTEN_PORT UPSTREAM_PORT DELAY_MS [READY_FILE]

Listens on 127.0.0.1:LISTEN_PORT and forwards every request to 127.0.0.1:UPSTREAM_PORT (nginx
serving a mirror tree), but only DELAY_MS milliseconds after the request arrived: the round
trip of a distant server (github.com from a build container is 20-150 ms away). A client that
waits for one answer before sending the next request pays the delay once per request, as it
would on a real network; requests sent at the same time are delayed at the same time. TCP
handshakes and bandwidth are not slowed: this measures round trips only.

Standard library only (scripts/bench.sh runs it with whatever python3 is there). HTTP/1.1
with keep-alive, one thread per connection, bodies streamed through in 256 KiB pieces.
Writes READY_FILE (if given) once it is listening.
"""

import http.client
import http.server
import shutil
import socketserver
import sys
import threading
import time

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
}


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_handler(upstream_port, delay):
    local = threading.local()

    def upstream():
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
            local.conn = conn
        return conn

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self, method):
            started = time.monotonic()
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP
            }
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            for attempt in (1, 2):
                conn = upstream()
                try:
                    conn.request(method, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    break
                except (http.client.HTTPException, OSError):
                    # A kept-alive upstream connection nginx closed meanwhile: once more.
                    conn.close()
                    local.conn = None
                    if attempt == 2:
                        self.send_error(502)
                        return
            # The answer leaves DELAY after the question arrived, whatever nginx took.
            wait = delay - (time.monotonic() - started)
            if wait > 0:
                time.sleep(wait)
            self.send_response_only(resp.status, resp.reason)
            chunked = resp.getheader("Content-Length") is None and method != "HEAD"
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            if chunked:
                # Without a length, the end of the body is the end of the connection.
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if method != "HEAD":
                shutil.copyfileobj(resp, self.wfile, 256 * 1024)
            resp.close()
            self.wfile.flush()

        def do_GET(self):
            self.forward("GET")

        def do_HEAD(self):
            self.forward("HEAD")

    return Handler


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    listen, upstream_port, delay_ms = (int(a) for a in sys.argv[1:4])
    server = Server(("127.0.0.1", listen), make_handler(upstream_port, delay_ms / 1000.0))
    if len(sys.argv) > 4:
        with open(sys.argv[4], "w") as ready:
            ready.write("ready\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
