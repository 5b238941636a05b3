"""An SMTP server that insists on TLS and authentication, for OpenPIM's e-mail-over-TLS tests
(crates/openpim-server/tests/integration/notifications.rs, run by scripts/test-smtp-tls.sh).

    server.py --mode starttls|implicit --port N --cert server.pem --key server-key.pem \
              --user U --password P --out messages.jsonl

starttls: plain connection, STARTTLS required before anything else, AUTH only after it.
implicit: TLS from the first byte (smtps). Either way AUTH is required before MAIL.
Every accepted message is appended to --out as one JSON line saying whether the session was
encrypted (and with which TLS version) and who authenticated, so the test checks the server's
view, not the client's. Prints READY once listening; runs until killed or stdin closes.
"""

import argparse
import json
import logging
import ssl
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["starttls", "implicit"], required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    # aiosmtpd's own use of its deprecated Session.login_data, not ours.
    warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == args.user.encode()
            and auth_data.password == args.password.encode()
        )
        if ok:
            return AuthResult(success=True, auth_data=args.user)
        # handled=False: aiosmtpd answers 535 itself (True would leave the client waiting).
        return AuthResult(success=False, handled=False)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            ssl_object = server.transport.get_extra_info("ssl_object")
            record = {
                "tls": ssl_object is not None,
                "tlsVersion": ssl_object.version() if ssl_object is not None else None,
                "starttls": session.ssl is not None,
                "authenticated": bool(session.authenticated),
                "user": session.auth_data,
                "from": envelope.mail_from,
                "rcpts": envelope.rcpt_tos,
                "data": envelope.content.decode("utf-8", "replace"),
            }
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            return "250 Message accepted"

    common = dict(
        hostname="127.0.0.1",
        port=args.port,
        authenticator=authenticator,
        auth_required=True,
    )
    if args.mode == "starttls":
        controller = Controller(
            Handler(), tls_context=context, require_starttls=True, auth_require_tls=True, **common
        )
    else:
        # aiosmtpd's auth_require_tls looks for STARTTLS only; here the whole connection is TLS,
        # so its warning about AUTH without TLS does not apply.
        warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        controller = Controller(
            Handler(), ssl_context=context, server_hostname="127.0.0.1", auth_require_tls=False, **common
        )
    controller.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
