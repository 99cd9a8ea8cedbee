"""Loopback SMTP servers for the delivery tests.

  smtp_sink.py aiosmtpd OUTDIR [CERT KEY [USER:PASSWORD:TOKEN]]
      a real aiosmtpd server saving each message; with a certificate and key
      (PEM) it offers STARTTLS and refuses mail before it; with credentials
      it also requires AUTH (PLAIN or LOGIN with USER/PASSWORD, XOAUTH2 with
      USER/TOKEN) and writes who logged in, and how, to OUTDIR/<n>.auth
  smtp_sink.py scripted OUTDIR FAULTS     a line-level server with scripted faults

FAULTS is a comma-separated list, each used once, in order of the events:
  greeting421   answer the next connection with 421 and close
  rcpt450       answer the next RCPT with 450
  rcpt550:ADDR  answer every RCPT for ADDR with 550 (not used up)
  dropdata      read the next message, then close without answering
  slowdata:S    after saving each message, wait S seconds before answering (not used up)

Prints the port on its first line, then serves until killed. Each accepted
message is written to OUTDIR/<n>.eml with the envelope recipient in
OUTDIR/<n>.rcpt.
"""
import base64
import os
import socket
import sys
import threading

OUT = sys.argv[2]
os.makedirs(OUT, exist_ok=True)
lock = threading.Lock()
counter = [0]


def save(data, rcpts):
    with lock:
        counter[0] += 1
        n = counter[0]
    with open(os.path.join(OUT, f"{n}.eml"), "wb") as f:
        f.write(data)
    with open(os.path.join(OUT, f"{n}.rcpt"), "w") as f:
        f.write("\n".join(rcpts))
    return n


def run_aiosmtpd():
    import asyncio
    from aiosmtpd.controller import Controller

    from aiosmtpd.smtp import AuthResult, LoginPassword

    creds = sys.argv[5].split(":") if len(sys.argv) > 5 else None

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            n = save(envelope.original_content or envelope.content, envelope.rcpt_tos)
            if creds:
                with open(os.path.join(OUT, f"{n}.auth"), "w") as f:
                    f.write(session.auth_data.login.decode() if session.auth_data else "")
            return "250 Message accepted for delivery"

        async def auth_XOAUTH2(self, server, args):
            # RFC 7628-style initial response: base64("user=U^Aauth=Bearer T^A^A").
            try:
                data = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
            except Exception:
                return AuthResult(success=False, handled=False)
            ok = creds is not None and data == f"user={creds[0]}\x01auth=Bearer {creds[2]}\x01\x01"
            # handled=False: on failure the server answers 535 itself.
            return AuthResult(success=ok, handled=False, auth_data=LoginPassword(f"XOAUTH2 {creds[0]}".encode(), b""))

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and creds is not None and (
            auth_data.login.decode(), auth_data.password.decode()) == (creds[0], creds[1])
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(f"{mechanism} {creds[0]}".encode(), b""))

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    tls = {}
    if len(sys.argv) > 4:
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        tls = {"tls_context": context, "require_starttls": True}
        if creds:
            tls.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)
    c = Controller(Handler(), hostname="127.0.0.1", port=port, **tls)
    c.start()
    print(port, flush=True)
    threading.Event().wait()


def run_scripted(faults):
    once = [f for f in faults if not f.startswith("rcpt550:")]
    refuse = {f.split(":", 1)[1].lower() for f in faults if f.startswith("rcpt550:")}
    slow = [float(f.split(":", 1)[1]) for f in faults if f.startswith("slowdata:")]
    once = [f for f in once if not f.startswith("slowdata:")]

    def take(name):
        with lock:
            if name in once:
                once.remove(name)
                return True
        return False

    def serve(conn):
        f = conn.makefile("rb")
        w = lambda s: conn.sendall((s + "\r\n").encode())
        if take("greeting421"):
            w("421 4.3.2 Service not available, try later")
            conn.close()
            return
        w("220 scripted ESMTP")
        rcpts = []
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode(errors="replace").strip()
            up = cmd.upper()
            if up.startswith("EHLO") or up.startswith("HELO"):
                w("250-scripted\r\n250 8BITMIME")
            elif up.startswith("MAIL FROM"):
                rcpts = []
                w("250 2.1.0 OK")
            elif up.startswith("RCPT TO"):
                addr = cmd.split(":", 1)[1].strip().strip("<>").lower()
                if addr in refuse:
                    w("550 5.1.1 Mailbox unavailable")
                elif take("rcpt450"):
                    w("450 4.2.1 Mailbox busy, try later")
                else:
                    rcpts.append(addr)
                    w("250 2.1.5 OK")
            elif up == "DATA":
                w("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while True:
                    l = f.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    data += l[1:] if l.startswith(b"..") else l
                if take("dropdata"):
                    save(data, rcpts)  # the server got it; the client never hears so
                    conn.close()
                    return
                save(data, rcpts)
                if slow:
                    import time
                    time.sleep(slow[0])
                w("250 2.0.0 Accepted")
            elif up == "QUIT":
                w("221 2.0.0 Bye")
                conn.close()
                return
            elif up in ("RSET", "NOOP"):
                w("250 2.0.0 OK")
            else:
                w("502 5.5.2 Command not recognised")

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    print(s.getsockname()[1], flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if sys.argv[1] == "aiosmtpd":
    run_aiosmtpd()
else:
    run_scripted([x for x in (sys.argv[3] if len(sys.argv) > 3 else "").split(",") if x])
