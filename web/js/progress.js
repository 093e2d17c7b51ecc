// Lesson progress without the DOM (so Node's test runner can drive it: tests/unit/web/progress.test.mjs).
//
// `heartbeat()` turns the player's events (player.js re-dispatches Stream's as `lectern:player`
// {event, currentTime, duration}) into saves of PUT /learn/{course}/lessons/{lesson}/progress:
// every 15 s while the video plays, at once on pause, seek-while-paused and at the end, and
// `completed: true` when the video ended (the API also completes a lesson at 90 % of the length
// the catalog gives, which need not be the length of the video the player really has).
// One save at a time: a save asked for while one is on its way waits, and only the newest
// position is then sent. A failed save is retried by the next event (its position is not marked
// as saved).

export const HEARTBEAT_MS = 15000;

/** Whole seconds for the API (an integer ≥ 0): the player reports fractions. */
export function wholeSeconds(value) {
  const number = Number(value);
  return Number.isFinite(number) && number > 0 ? Math.floor(number) : 0;
}

/**
 * save({position_seconds, completed?}) → Promise; onSaved(result, body) / onError(error, body) are told.
 * `completed` / `position`: what the API already has for the lesson (its `progress`), if anything.
 * Returns {handle(detail), tick(), flush(), state()}.
 */
export function heartbeat({ save, onSaved = () => {}, onError = () => {}, now = () => Date.now(),
  intervalMs = HEARTBEAT_MS, completed = false, position: saved = null } = {}) {
  let playing = false;
  let position = wholeSeconds(saved); // the newest position the player reported (whole seconds)
  let lastSavedAt = null;    // when the last save was started (ms), null before the first
  let savedPosition = saved === null || saved === undefined ? null : position; // what the API has
  let completedSent = completed; // the lesson is complete (before, or a `completed: true` went through)
  let inFlight = null;       // the save on its way
  let pending = null;        // the body to send once it is back

  function body(completed) {
    return completed ? { position_seconds: position, completed: true } : { position_seconds: position };
  }

  function send(payload) {
    if (inFlight) {
      // Sent once this one is back: the newest position, and a completion once asked for.
      pending = { ...payload, ...(payload.completed || (pending && pending.completed) ? { completed: true } : {}) };
      return inFlight;
    }
    lastSavedAt = now();
    inFlight = new Promise((resolve) => resolve(save(payload))) // called now; a throw becomes a rejection
      .then((result) => {
        savedPosition = payload.position_seconds;
        if (payload.completed) completedSent = true;
        onSaved(result, payload);
      }, (error) => {
        onError(error, payload);
      })
      .finally(() => {
        inFlight = null;
        let next = pending;
        pending = null;
        if (next && next.completed && completedSent) next = { position_seconds: next.position_seconds };
        if (next && (next.completed || next.position_seconds !== savedPosition)) send(next);
      });
    return inFlight;
  }

  /** Save now unless this very position is already saved (and no completion is asked for). */
  function saveNow(completed = false) {
    if (completed && !completedSent) return send(body(true));
    if (savedPosition === position && !inFlight) return Promise.resolve();
    return send(body(false));
  }

  function due() {
    return lastSavedAt === null || now() - lastSavedAt >= intervalMs;
  }

  return {
    /** One player event: {event, currentTime, duration}. */
    handle(detail = {}) {
      const name = detail.event;
      if (detail.currentTime !== undefined && detail.currentTime !== null) position = wholeSeconds(detail.currentTime);
      if (name === "play" || name === "playing") {
        // Resuming counts from here: the first heartbeat comes 15 s into playing, not at once.
        if (!playing && lastSavedAt === null) lastSavedAt = now();
        playing = true;
        return null;
      }
      if (name === "pause") {
        playing = false;
        return saveNow();
      }
      if (name === "ended") {
        playing = false;
        if (detail.duration) position = Math.max(position, wholeSeconds(detail.duration));
        return saveNow(true);
      }
      if (name === "seeked" && !playing) return saveNow();
      if (playing && due()) return saveNow();
      return null;
    },
    /** A timer's tick: a heartbeat when one is due while playing (for players that send few events). */
    tick() {
      return playing && due() ? saveNow() : null;
    },
    /** Save the latest position (leaving the page), if the player moved since the last save. */
    flush() {
      if (savedPosition === position || (savedPosition === null && position === 0)) return null;
      return saveNow();
    },
    /** The lesson was opened: the first visit records it (position 0), so the course shows it started
     * even before the video plays; a lesson the API already has progress for sends nothing. */
    opened() {
      return savedPosition === null && !inFlight ? send(body(false)) : null;
    },
    /** The learner pressed "Mark as complete". */
    complete() {
      return send(body(true));
    },
    /** Resolves once no save is on its way or waiting. */
    async settled() {
      while (inFlight) await inFlight;
    },
    state() {
      return { playing, position, savedPosition, completedSent, lastSavedAt };
    },
  };
}

// ------------------------------------------------------------------ course progress

/** {completed_lessons, total_lessons, percent} → a clamped whole percent (0 when unknown). */
export function percentOf(progress) {
  if (!progress) return 0;
  let percent = Number(progress.percent);
  if (!Number.isFinite(percent)) {
    const total = Number(progress.total_lessons);
    percent = total > 0 ? (Number(progress.completed_lessons) || 0) * 100 / total : 0;
  }
  return Math.min(100, Math.max(0, Math.floor(percent)));
}

/** "3 of 7 lessons completed" (or "Not started" / "Completed"). */
export function progressText(progress) {
  if (!progress || !progress.total_lessons) return "No lessons yet";
  const done = Number(progress.completed_lessons) || 0;
  const total = Number(progress.total_lessons);
  if (done >= total) return `All ${total} ${total === 1 ? "lesson" : "lessons"} completed`;
  if (done === 0) return `Not started · ${total} ${total === 1 ? "lesson" : "lessons"}`;
  return `${done} of ${total} lessons completed`;
}

/** The slug of a `next_lesson` ({slug, title, module_id}, or a bare slug), or null. */
export function nextLessonSlug(next) {
  if (!next) return null;
  if (typeof next === "string") return next;
  return typeof next.slug === "string" && next.slug ? next.slug : null;
}

/**
 * What a library card's button does: {label, lesson, done}. "Resume" at the next lesson once a
 * lesson is completed, "Start" before, "Review" (the first lesson) when every lesson is done.
 */
export function resumeAction(course) {
  const progress = (course && course.progress) || null;
  const lesson = nextLessonSlug(course && course.next_lesson);
  const total = progress ? Number(progress.total_lessons) || 0 : 0;
  const completed = progress ? Number(progress.completed_lessons) || 0 : 0;
  if (total > 0 && (completed >= total || !lesson)) return { label: "Review", lesson: null, done: true };
  return { label: completed > 0 ? "Resume" : "Start", lesson, done: false };
}

/** "m:ss" (or "h:mm:ss") for a number of seconds. */
export function clock(seconds) {
  const total = wholeSeconds(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// ------------------------------------------------------------------ character count

/**
 * The gift message's counter. Counts characters as the API does (code points, so an emoji is
 * one), not UTF-16 units as `maxlength` would.
 * → {count, remaining, over, text}
 */
export function characterCount(value, max) {
  const count = [...String(value ?? "")].length;
  const remaining = max - count;
  const over = remaining < 0;
  const text = over
    ? `${-remaining} ${-remaining === 1 ? "character" : "characters"} too many`
    : `${remaining} ${remaining === 1 ? "character" : "characters"} left`;
  return { count, remaining, over, text };
}
