"""The storefront's server and the API's CORS, over HTTP (no browser needed): what the
pages rely on before any JavaScript runs."""
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.stack


def test_every_page_path_gets_the_shell_and_files_are_files(local_stack):
    web = local_stack.urls["web"]
    for path in ("/", "/courses/serverless-python-on-aws", "/checkout/success?session_id=cs_x", "/claim?token=t",
                 "/learn?course=x", "/no-such-page"):
        response = requests.get(web + path, timeout=10)
        assert response.status_code == 200, path
        assert '<script type="module" src="/js/app.js"></script>' in response.text, path
    css = requests.get(f"{web}/styles.css", timeout=10)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    module = requests.get(f"{web}/js/app.js", timeout=10)
    assert module.headers["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert requests.get(f"{web}/js/missing.js", timeout=10).status_code == 404
    assert requests.get(f"{web}/../template.yaml", timeout=10).status_code == 404


def test_config_points_at_the_api_and_the_csp_allows_only_it(local_stack):
    web, api = local_stack.urls["web"], local_stack.urls["api"]
    config = requests.get(f"{web}/config.js", timeout=10)
    assert f'"apiBase": "{api}"' in config.text and config.headers["Cache-Control"] == "no-store"
    headers = requests.get(web + "/", timeout=10).headers
    csp = headers["Content-Security-Policy"]
    assert f"connect-src 'self' {api}" in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path,method", [("/auth/login", "POST"), ("/checkout", "POST"), ("/me/courses", "GET"),
                                         ("/resources/r1/download", "GET")])
def test_api_answers_the_storefronts_preflight(local_stack, path, method):
    origin = local_stack.urls["web"]
    response = requests.options(local_stack.urls["api"] + path, timeout=10, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == origin
    allowed_headers = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed_headers
    assert method in response.headers["Access-Control-Allow-Methods"].split(",")
    assert response.headers["Access-Control-Max-Age"] == "600"


def test_api_cors_is_for_the_storefront_only(local_stack):
    api, origin = local_stack.urls["api"], local_stack.urls["web"]
    ours = requests.get(f"{api}/courses", headers={"Origin": origin}, timeout=10)
    assert ours.headers["Access-Control-Allow-Origin"] == origin and "Origin" in ours.headers["Vary"]
    error = requests.get(f"{api}/courses/not-a-course", headers={"Origin": origin}, timeout=10)
    assert error.status_code == 404 and error.headers["Access-Control-Allow-Origin"] == origin
    other = requests.get(f"{api}/courses", headers={"Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = requests.options(f"{api}/auth/login", timeout=10, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_demo_thumbnails_are_files_served_by_the_storefront_itself(local_stack):
    """The catalog's thumbnail URLs point at the storefront's own origin (CloudFront's /public/* deployed,
    the local web server here), which serves what `catalog apply` uploaded: no external image host."""
    web, api = local_stack.urls["web"], local_stack.urls["api"]
    thumbnails = Path(__file__).resolve().parents[2] / "catalog" / "files" / "thumbnails"
    courses = requests.get(f"{api}/courses", timeout=10).json()["courses"]
    assert courses
    for course in courses:
        url = course["thumbnail_url"]
        assert url.startswith(f"{web}/public/thumbnails/") and url.endswith(".svg"), url
        image = requests.get(url, timeout=10)
        assert image.status_code == 200
        assert image.headers["Content-Type"] == "image/svg+xml"
        assert image.content == (thumbnails / f"{course['slug']}.svg").read_bytes()
        assert image.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "script-src 'self'" in image.headers["Content-Security-Policy"]  # an SVG opened alone runs nothing
        assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(f"{web}/public/thumbnails/nope/missing.svg", timeout=10).status_code == 404
    # Only the bucket's public/ prefix: a resource's key (courses/…) cannot be reached through it.
    for path in ("/public/%2e%2e/courses/x", "/public/.hidden", "/public/a//b"):
        assert requests.get(web + path, timeout=10).status_code == 404, path


def test_the_csp_lets_the_player_frame_come_from_the_stream_stand_in(local_stack):
    csp = requests.get(local_stack.urls["web"] + "/", timeout=10).headers["Content-Security-Policy"]
    frame_src = next(part for part in csp.split("; ") if part.startswith("frame-src "))
    assert local_stack.urls["stream"] in frame_src.split()
    assert "https://*.cloudflarestream.com" in frame_src.split()  # as deployed
