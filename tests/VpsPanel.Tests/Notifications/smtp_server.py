# A real SMTP server for the notification tests (Debian's python3-aiosmtpd): writes every message it accepts to
# OUTDIR/<n>.eml. Modes: plain (no TLS, no auth), starttls (STARTTLS required, then AUTH LOGIN/PLAIN with
# USER/PASS), tls (implicit TLS from the first byte, AUTH required). Prints "ready" once it listens.
import asyncio, os, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

port, outdir, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cert, key = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else (None, None)
user, password = b"mailer", b"mail-password-1"

class Handler:
    async def handle_DATA(self, server, session, envelope):
        n = len(os.listdir(outdir))
        with open(os.path.join(outdir, f"{n}.tmp"), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(os.path.join(outdir, f"{n}.tmp"), os.path.join(outdir, f"{n}.eml"))
        return "250 Message accepted for delivery"

def authenticator(server, session, envelope, mechanism, auth_data):
    # handled=False makes aiosmtpd answer a refusal with 535 as a real server does; its default (handled=True) sends
    # nothing at all, and the client waits for a reply until its own timeout.
    ok = auth_data.login == user and auth_data.password == password
    return AuthResult(success=ok, handled=False)

kwargs = dict(hostname="127.0.0.1", port=port)
if mode in ("starttls", "tls"):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    kwargs.update(authenticator=authenticator, auth_required=True)
    if mode == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True, auth_require_tls=True)
    else:
        # Implicit TLS: the whole session is encrypted; aiosmtpd's auth_require_tls only knows STARTTLS.
        kwargs.update(ssl_context=ctx, auth_require_tls=False)
controller = Controller(Handler(), **kwargs)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    controller.stop()
