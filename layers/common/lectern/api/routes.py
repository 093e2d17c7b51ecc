"""Every (method, path) the HTTP API serves, as declared in template.yaml.

The `$default` route needs this to tell "unknown path" (404) from "wrong
method" (405 with Allow). tests/unit/test_template.py fails when it drifts from
the template, so it cannot go stale.
"""
import re

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

_COMPILED = [(re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), methods)
             for path, methods in ROUTES.items()]


def allowed_methods(path: str) -> tuple[str, ...]:
    for pattern, methods in _COMPILED:
        if pattern.match(path):
            return methods
    return ()
