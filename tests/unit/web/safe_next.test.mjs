// node --test tests/unit/web/safe_next.test.mjs (run by tests/unit/test_web_js.py): the storefront's
// `next` parameter can only lead to a path of the storefront itself.
import assert from "node:assert/strict";
import { test } from "node:test";

import { safeNext } from "../../../web/js/ui.js";

const ORIGIN = "http://127.0.0.1:3002";
const FALLBACK = "/library";

const OFF_SITE = [
  "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/\t\t/evil.example/x", "\t//evil.example",
  "//evil.example", "///evil.example", "/\\evil.example", "\\/evil.example", "/\\/evil.example", " //evil.example",
  "https://evil.example", "http://127.0.0.1:3002/library", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
  "data:text/html,x", "evil.example", "", null, undefined, 42, ["/library"], "/%2F/evil.example:80\u0000",
];

test("anything that is not a path of this site falls back", () => {
  for (const value of OFF_SITE) {
    const next = safeNext(value, FALLBACK, ORIGIN);
    assert.ok(next === FALLBACK || new URL(next, ORIGIN).origin === ORIGIN, `${JSON.stringify(value)} → ${next}`);
    assert.ok(next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\"), `${JSON.stringify(value)} → ${next}`);
  }
  for (const value of ["/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)"]) {
    assert.equal(safeNext(value, FALLBACK, ORIGIN), FALLBACK, JSON.stringify(value));
  }
});

test("a path of this site is kept, with its query and fragment", () => {
  assert.equal(safeNext("/library", FALLBACK, ORIGIN), "/library");
  assert.equal(safeNext("/learn?course=a-b&lesson=c", FALLBACK, ORIGIN), "/learn?course=a-b&lesson=c");
  assert.equal(safeNext("/orders#top", FALLBACK, ORIGIN), "/orders#top");
  assert.equal(safeNext("/courses/x/../y", FALLBACK, ORIGIN), "/courses/y");
});

test("a path the parser turns into //host keeps one slash: it stays on this site", () => {
  assert.equal(safeNext("/.//evil.example", FALLBACK, ORIGIN), "/evil.example");
  assert.equal(safeNext("/x/..//evil.example", FALLBACK, ORIGIN), "/evil.example");
});
