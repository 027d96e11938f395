"""A local HTTPS endpoint that records what reaches it, for scripts/image-test.

It stands in for both endpoints the binary calls first when it assumes a role
under GitHub Actions: GitHub's OIDC token endpoint (GET, reqwest) and STS
(POST, the AWS SDK). A request that arrives proves the TLS handshake
succeeded, i.e. the client trusted the test CA from the image's bundle.

    https_recorder.py CERT KEY PORT_FILE LOG_FILE

Serves until killed. Writes its port to PORT_FILE once listening, and one
line per request to LOG_FILE: "<method> <path>".
"""

import http.server
import os
import ssl
import sys

cert, key, port_file, log_file = sys.argv[1:5]

# STS's error shape (query protocol): the SDK parses it into a coded error,
# so the binary's message names the code and proves the request round-tripped.
STS_ERROR = (
    b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
    b"<Message>image-test stand-in reached over TLS</Message></Error>"
    b"<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def record(self):
        with open(log_file, "a") as f:
            f.write(f"{self.command} {self.path}\n")

    def reply(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.record()
        # An unsigned JWT-shaped token: never validated by anyone here.
        self.reply(200, "application/json", b'{"value":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.c2ln"}')

    def do_POST(self):
        self.record()
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self.reply(400, "text/xml", STS_ERROR)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(port_file + ".tmp", port_file)
server.serve_forever()
