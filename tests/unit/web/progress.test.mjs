// node --test tests/unit/web/progress.test.mjs (run by tests/unit/test_web_js.py): the lesson heartbeat that
// turns the player's events into progress saves, and the small course-progress helpers.
import assert from "node:assert/strict";
import { test } from "node:test";

import { characterCount, clock, heartbeat, nextLessonSlug, percentOf, progressText, resumeAction,
  wholeSeconds } from "../../../web/js/progress.js";

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

function recorder({ fail = () => false } = {}) {
  const sent = [];
  return {
    sent,
    save: async (body) => {
      sent.push(body);
      if (fail(body)) throw new Error("offline");
      return { progress: { position_seconds: body.position_seconds } };
    },
  };
}

test("a heartbeat every 15 s while playing, none in between", async () => {
  const clockNow = fakeClock();
  const api = recorder();
  const beat = heartbeat({ save: api.save, now: clockNow.now });
  beat.handle({ event: "play", currentTime: 0 });
  for (let second = 1; second <= 40; second += 1) {
    clockNow.advance(1000);
    beat.handle({ event: "timeupdate", currentTime: second });
    await beat.settled();
  }
  assert.deepEqual(api.sent, [{ position_seconds: 15 }, { position_seconds: 30 }]);
});

test("pause saves at once, and not twice for the same position", async () => {
  const clockNow = fakeClock();
  const api = recorder();
  const beat = heartbeat({ save: api.save, now: clockNow.now });
  beat.handle({ event: "play", currentTime: 0 });
  clockNow.advance(4200);
  beat.handle({ event: "timeupdate", currentTime: 4.2 });
  beat.handle({ event: "pause", currentTime: 4.2 });
  await beat.settled();
  beat.handle({ event: "pause", currentTime: 4.2 });
  await beat.settled();
  assert.deepEqual(api.sent, [{ position_seconds: 4 }]);
});

test("the end completes the lesson, once", async () => {
  const api = recorder();
  const beat = heartbeat({ save: api.save, now: fakeClock().now });
  beat.handle({ event: "play", currentTime: 0 });
  beat.handle({ event: "ended", currentTime: 5.96, duration: 6.0 });
  await beat.settled();
  beat.handle({ event: "play", currentTime: 0 });
  beat.handle({ event: "ended", currentTime: 5.96, duration: 6.0 });
  await beat.settled();
  assert.deepEqual(api.sent, [{ position_seconds: 6, completed: true }]);
  assert.equal(beat.state().completedSent, true);
});

test("a lesson completed before is never sent `completed` again", async () => {
  const api = recorder();
  const beat = heartbeat({ save: api.save, now: fakeClock().now, completed: true });
  beat.handle({ event: "play", currentTime: 0 });
  beat.handle({ event: "ended", currentTime: 6, duration: 6 });
  await beat.settled();
  assert.deepEqual(api.sent, [{ position_seconds: 6 }]);
});

test("one save at a time: what comes meanwhile is merged into one save of the newest position", async () => {
  const sent = [];
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  const beat = heartbeat({
    save: async (body) => { sent.push(body); if (sent.length === 1) await gate; },
    now: fakeClock().now,
  });
  beat.handle({ event: "pause", currentTime: 3 });
  beat.handle({ event: "seeked", currentTime: 10 });
  beat.handle({ event: "ended", currentTime: 12, duration: 12 });
  beat.handle({ event: "seeked", currentTime: 1 });
  assert.equal(sent.length, 1);
  release();
  await beat.settled();
  assert.deepEqual(sent, [{ position_seconds: 3 }, { position_seconds: 1, completed: true }]);
});

test("a failed save is reported and tried again by the next event", async () => {
  let down = true;
  const api = recorder({ fail: () => down });
  const errors = [];
  const beat = heartbeat({ save: api.save, now: fakeClock().now, onError: (error) => errors.push(error.message) });
  beat.handle({ event: "pause", currentTime: 7 });
  await beat.settled();
  assert.deepEqual(errors, ["offline"]);
  down = false;
  beat.handle({ event: "pause", currentTime: 7 });
  await beat.settled();
  assert.deepEqual(api.sent, [{ position_seconds: 7 }, { position_seconds: 7 }]);
  assert.equal(beat.state().savedPosition, 7);
});

test("tick() heartbeats for a player that sends no time updates; flush() saves what is left", async () => {
  const clockNow = fakeClock();
  const api = recorder();
  const beat = heartbeat({ save: api.save, now: clockNow.now });
  assert.equal(beat.tick(), null); // not playing
  beat.handle({ event: "playing", currentTime: 0 });
  clockNow.advance(5000);
  assert.equal(beat.tick(), null); // not due yet
  clockNow.advance(10000);
  beat.handle({ event: "progress", currentTime: 15.4 });
  await beat.settled();
  clockNow.advance(15000);
  beat.handle({ event: "other", currentTime: 30 }); // due: any event with a time heartbeats
  await beat.settled();
  clockNow.advance(2000);
  beat.handle({ event: "nothing-due", currentTime: 32 });
  beat.flush();
  await beat.settled();
  assert.deepEqual(api.sent, [{ position_seconds: 15 }, { position_seconds: 30 }, { position_seconds: 32 }]);
});

test("nothing to save: a lesson only opened, or resumed where the API has it", async () => {
  const api = recorder();
  const opened = heartbeat({ save: api.save, now: fakeClock().now });
  assert.equal(opened.flush(), null);
  const resumed = heartbeat({ save: api.save, now: fakeClock().now, position: 42 });
  resumed.handle({ event: "seeked", currentTime: 42.3 }); // the page moved the player there
  assert.equal(resumed.flush(), null);
  await resumed.settled();
  assert.deepEqual(api.sent, []);
  resumed.handle({ event: "seeked", currentTime: 50 });
  await resumed.settled();
  assert.deepEqual(api.sent, [{ position_seconds: 50 }]);
});

test("opening a lesson records it once; a lesson with progress already sends nothing", async () => {
  const api = recorder();
  const first = heartbeat({ save: api.save, now: fakeClock().now });
  first.opened();
  await first.settled();
  assert.deepEqual(api.sent, [{ position_seconds: 0 }]);
  assert.equal(first.opened(), null); // saved now: not again
  assert.equal(first.flush(), null);
  const again = heartbeat({ save: api.save, now: fakeClock().now, position: 42 });
  assert.equal(again.opened(), null);
  await again.settled();
  assert.deepEqual(api.sent, [{ position_seconds: 0 }]);
});

test("mark as complete sends `completed: true` with the current position", async () => {
  const api = recorder();
  const beat = heartbeat({ save: api.save, now: fakeClock().now });
  beat.handle({ event: "pause", currentTime: 2 });
  await beat.settled();
  beat.complete();
  await beat.settled();
  assert.deepEqual(api.sent, [{ position_seconds: 2 }, { position_seconds: 2, completed: true }]);
});

test("whole seconds: never negative, never NaN", () => {
  assert.equal(wholeSeconds(5.99), 5);
  assert.equal(wholeSeconds(-1), 0);
  assert.equal(wholeSeconds("x"), 0);
  assert.equal(wholeSeconds(undefined), 0);
  assert.equal(wholeSeconds(Infinity), 0);
});

test("course progress: percent, text, next lesson and the library's button", () => {
  assert.equal(percentOf({ completed_lessons: 1, total_lessons: 3, percent: 33 }), 33);
  assert.equal(percentOf({ completed_lessons: 1, total_lessons: 3 }), 33);
  assert.equal(percentOf({ percent: 140 }), 100);
  assert.equal(percentOf(null), 0);
  assert.equal(progressText({ completed_lessons: 0, total_lessons: 7, percent: 0 }), "Not started · 7 lessons");
  assert.equal(progressText({ completed_lessons: 3, total_lessons: 7, percent: 42 }), "3 of 7 lessons completed");
  assert.equal(progressText({ completed_lessons: 1, total_lessons: 1, percent: 100 }), "All 1 lesson completed");
  assert.equal(progressText({ completed_lessons: 0, total_lessons: 0, percent: 0 }), "No lessons yet");
  assert.equal(nextLessonSlug({ slug: "joins", title: "Joins", module_id: "m1" }), "joins");
  assert.equal(nextLessonSlug("joins"), "joins");
  assert.equal(nextLessonSlug(null), null);

  const course = (done, total, next) => ({ progress: { completed_lessons: done, total_lessons: total,
    percent: Math.floor((done * 100) / total) }, next_lesson: next && { slug: next, title: next, module_id: "m" } });
  assert.deepEqual(resumeAction(course(0, 3, "a")), { label: "Start", lesson: "a", done: false });
  assert.deepEqual(resumeAction(course(1, 3, "b")), { label: "Resume", lesson: "b", done: false });
  assert.deepEqual(resumeAction(course(3, 3, null)), { label: "Review", lesson: null, done: true });
  assert.deepEqual(resumeAction({ slug: "old-api" }), { label: "Start", lesson: null, done: false });
});

test("clock", () => {
  assert.equal(clock(0), "0:00");
  assert.equal(clock(75.9), "1:15");
  assert.equal(clock(3725), "1:02:05");
});

test("the gift message counter counts characters as the API does", () => {
  assert.deepEqual(characterCount("", 500), { count: 0, remaining: 500, over: false, text: "500 characters left" });
  assert.equal(characterCount("x".repeat(499), 500).text, "1 character left");
  assert.equal(characterCount("🎁".repeat(500), 500).over, false); // 500 code points, 1000 UTF-16 units
  assert.deepEqual(characterCount("x".repeat(502), 500), { count: 502, remaining: -2, over: true,
    text: "2 characters too many" });
  assert.equal(characterCount(null, 10).count, 0);
});
