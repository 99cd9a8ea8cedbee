"""A loopback HTTP receiver for the delivery tests.

  http_sink.py OUTDIR SCRIPT [SECRET]

SCRIPT is a comma-separated list of status codes for the first requests
(`429:7` adds `Retry-After: 7`); later requests get 202. With SECRET the
Standard Webhooks signature of every request is checked on this side and
recorded as `sig_ok` or `sig_bad`. Each request is saved as OUTDIR/<n>.json:
{"path", "headers", "body", "status", "signature"}. Prints the port first.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OUT = sys.argv[1]
SCRIPT = [s for s in sys.argv[2].split(",") if s] if len(sys.argv) > 2 else []
SECRET = sys.argv[3] if len(sys.argv) > 3 else None
os.makedirs(OUT, exist_ok=True)
lock = threading.Lock()
count = [0]


def key():
    if SECRET.startswith("whsec_"):
        return base64.b64decode(SECRET[6:])
    return SECRET.encode()


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock:
            count[0] += 1
            n = count[0]
            step = SCRIPT.pop(0) if SCRIPT else "202"
        status, _, retry = step.partition(":")
        sig = None
        if SECRET:
            msg = f"{self.headers.get('webhook-id')}.{self.headers.get('webhook-timestamp')}.".encode() + body
            want = "v1," + base64.b64encode(hmac.new(key(), msg, hashlib.sha256).digest()).decode()
            sig = "sig_ok" if hmac.compare_digest(want, self.headers.get("webhook-signature", "")) else "sig_bad"
        with open(os.path.join(OUT, f"{n:03}.json"), "w") as f:
            json.dump({"path": self.path, "headers": dict(self.headers), "body": body.decode(), "status": int(status), "signature": sig}, f)
        self.send_response(int(status))
        if retry:
            self.send_header("Retry-After", retry)
        self.send_header("content-length", "0")
        self.end_headers()


s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
