"""Every (method, path) the HTTP API serves, as declared in template.yaml.

The `$default` route needs this to tell "unknown path" (404) from "wrong
method" (405 with Allow). tests/unit/test_template.py fails when it drifts from
the template, so it cannot go stale.
"""
import re
from functools import lru_cache

ROUTES: dict[str, tuple[str, ...]] = {
    "/courses": ("GET",),
    "/courses/{slug}": ("GET",),
    "/courses/{slug}/enroll": ("POST",),
    "/auth/register": ("POST",),
    "/auth/login": ("POST",),
    "/auth/refresh": ("POST",),
    "/auth/logout": ("POST",),
    "/auth/verify-email": ("POST",),
    "/auth/password/forgot": ("POST",),
    "/auth/password/reset": ("POST",),
    "/auth/claim": ("POST",),
    "/me": ("GET",),
    "/me/courses": ("GET",),
    "/me/orders": ("GET",),
    "/me/orders/{order_id}/resend-gift": ("POST",),
    "/learn/{course_slug}": ("GET",),
    "/learn/{course_slug}/lessons/{lesson_slug}": ("GET",),
    "/learn/{course_slug}/lessons/{lesson_slug}/progress": ("PUT",),
    "/me/certificates": ("GET",),
    "/certificates/{code}": ("GET",),
    "/resources/{resource_id}/download": ("GET",),
    "/checkout": ("POST",),
    "/checkout/{checkout_session_id}": ("GET",),
    "/checkout/{checkout_session_id}/resend-claim": ("POST",),
}


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    # Compiled on first use (a 404, a 405 or a preflight), not at every cold start: ~5 ms of regexes.
    return [(re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), methods)
            for path, methods in ROUTES.items()]


def allowed_methods(path: str) -> tuple[str, ...]:
    for pattern, methods in _compiled():
        if pattern.match(path):
            return methods
    return ()
