"""Dev-only: make the embedded SES refuse chosen recipients, as a new AWS account's SES sandbox does.

Real SES in its sandbox answers `MessageRejected` ("Email address is not verified") for every
recipient that is not a verified identity. moto's SES accepts everything, so the local stack
could never show what Lectern does then. With `LECTERN_SES_REJECT` set in the environment of
the process that hosts moto (the local stack, or a test using moto in-process), moto's SES
rejects the recipients it names until they are verified, exactly like the sandbox:

    LECTERN_SES_REJECT="*"                          every unverified recipient (the whole sandbox)
    LECTERN_SES_REJECT="*@sandbox.example"          unverified recipients at that domain
    LECTERN_SES_REJECT="ada@example.com,bob@x.org"  those addresses, while unverified

Verifying an address (`aws ses verify-email-identity --email-address …` against the embedded
AWS) lifts the rejection for it, as it does in SES. The variable is read at every send, so a
test may change it while moto runs. This lives in devtools only: the deployed code never sees it.
"""
import fnmatch
import os
from email.utils import parseaddr

VARIABLE = "LECTERN_SES_REJECT"
_installed = False


def patterns() -> list[str]:
    return [p.strip().lower() for p in os.environ.get(VARIABLE, "").split(",") if p.strip()]


def rejects(backend, address: str) -> bool:
    """True when the sandbox switch refuses `address` (named by the variable, and not verified)."""
    _name, address = parseaddr(address)
    address = address.lower()
    if not any(fnmatch.fnmatchcase(address, pattern) for pattern in patterns()):
        return False
    return not backend._is_verified_address(address)


def install() -> None:
    """Wrap moto's SES sends (idempotent). Without the variable set, nothing changes."""
    global _installed
    if _installed:
        return
    from moto.ses.exceptions import MessageRejectedError
    from moto.ses.models import SESBackend

    def check(backend, addresses) -> None:
        refused = [a for a in addresses if rejects(backend, a)]
        if refused:
            # SES's own words for a sandbox refusal.
            raise MessageRejectedError("Email address is not verified. The following identities failed the check "
                                       f"in region {backend.region_name.upper()}: {', '.join(refused)}")

    real_send, real_raw = SESBackend.send_email, SESBackend.send_raw_email

    def send_email(self, source, subject, body, destinations):
        check(self, [a for addresses in destinations.values() for a in addresses])
        return real_send(self, source, subject, body, destinations)

    def send_raw_email(self, source, destinations, raw_data, *args, **kwargs):
        check(self, list(destinations))
        return real_raw(self, source, destinations, raw_data, *args, **kwargs)

    SESBackend.send_email, SESBackend.send_raw_email = send_email, send_raw_email
    _installed = True
