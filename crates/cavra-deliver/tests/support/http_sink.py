"""A loopback HTTP receiver for the delivery tests.

  http_sink.py OUTDIR SCRIPT [SECRET]

SCRIPT is a comma-separated list of status codes for the first requests
(`429:7` adds `Retry-After: 7`); later requests get 202. With SECRET the
Standard Webhooks signature of every request is checked on this side and
recorded as `sig_ok` or `sig_bad`; a SECRET of the form
`aws4:KEY_ID:SECRET_KEY:REGION:SERVICE` checks the AWS Signature Version 4
instead, recomputed by botocore (the AWS SDK for Python's own signer) over
the headers the request says it signed. Each request is saved as OUTDIR/<n>.json:
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
AWS = SECRET.split(":") if SECRET and SECRET.startswith("aws4:") else None
if AWS:
    # Fails loudly (the test then fails) when botocore is missing.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
os.makedirs(OUT, exist_ok=True)
lock = threading.Lock()
count = [0]


def aws4_ok(handler, body):
    """Recomputes the SigV4 signature with botocore and compares."""
    _, key_id, secret, region, service = AWS
    auth_header = handler.headers.get("authorization", "")
    fields = dict(p.strip().split("=", 1) for p in auth_header.split(" ", 1)[-1].split(",") if "=" in p)
    signed = fields.get("SignedHeaders", "").split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return False
    headers = {h: handler.headers.get(h, "") for h in signed}
    url = f"http://{handler.headers.get('host')}{handler.path}"
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    request.context["timestamp"] = headers["x-amz-date"]
    auth = SigV4Auth(Credentials(key_id, secret), service, region)
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    scope = f"{key_id}/{headers['x-amz-date'][:8]}/{region}/{service}/aws4_request"
    want = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={';'.join(signed)}, Signature={signature}"
    return hmac.compare_digest(want, auth_header)


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
        if AWS:
            sig = "sig_ok" if aws4_ok(self, body) else "sig_bad"
        elif SECRET:
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
