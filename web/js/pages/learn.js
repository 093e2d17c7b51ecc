// "/learn?course=<slug>&lesson=<slug>": the course player for a learner who owns the course.
// Every load asks the API again, so a refunded or revoked course is gone on the next load
// (403 not_entitled) and the page says so.
//
// Progress: the lesson list marks completed lessons and the course's share; without `lesson` the
// page opens the course's `next_lesson`; a lesson left half-way resumes where it was. The player's
// events go through progress.js's heartbeat to PUT …/progress (every 15 s while playing, on pause,
// `completed: true` at the end); "Mark as complete" does the same by hand. When the course is
// complete, the certificate (GET /me/certificates) shows under the lesson.
import { ApiError, get, myCertificates, saveProgress } from "../api.js";
import * as session from "../session.js";
import { SLUG, courseUrl, formatBytes, h, learnUrl, loginUrl, notice, pageNotice,
  progressMeter, render, setMeta, setStatus, statusRegion } from "../ui.js";
import { certificateCard } from "../certificate.js";
import { player, seek } from "../player.js";
import { clock, heartbeat, nextLessonSlug, percentOf, progressText } from "../progress.js";

const TICK_MS = 5000; // a heartbeat check for players that send no time updates

export default async function learn({ params, query }) {
  const slug = params[0] || query.get("course") || "";
  const requested = query.get("lesson");
  setMeta({ title: "Course" });
  if (!SLUG.test(slug)) return notFound();
  if (!session.isSignedIn()) return location.replace(loginUrl());

  let course;
  try {
    course = (await get(`/learn/${encodeURIComponent(slug)}`, { auth: "required" })).course;
  } catch (error) {
    return handleError(error, slug);
  }
  const lessons = course.modules.flatMap((module) => module.lessons);
  if (!lessons.length) {
    setMeta({ title: course.title, image: course.thumbnail_url });
    render(h("h1", {}, course.title), notice("info", "No lessons yet", h("p", {}, "Lessons will appear here soon.")));
    return;
  }
  const nextSlug = nextLessonSlug(course.next_lesson);
  const current = lessons.find((lesson) => lesson.slug === requested)
    || lessons.find((lesson) => lesson.slug === nextSlug) || lessons[0];
  const index = lessons.indexOf(current);
  const courseProgress = h("div", { class: "learn-progress", id: "course-progress" });
  const certificateArea = h("section", { class: "certificate-area", id: "certificate-area",
    "aria-labelledby": "certificate-heading", hidden: true });
  showCourseProgress(courseProgress, course);

  const lessonArea = h("article", { class: "lesson", "aria-labelledby": "lesson-title" },
    h("h2", { id: "lesson-title" }, current.title),
    current.summary ? h("p", { class: "lede" }, current.summary) : null,
    h("p", { class: "loading", role: "status" }, "Loading the lesson…"));

  render(
    h("div", { class: "learn-header" },
      h("p", { class: "breadcrumbs" }, h("a", { href: "/library" }, "My courses")),
      h("h1", {}, course.title),
      courseProgress),
    h("div", { class: "learn-layout" },
      lessonNav(course, current),
      h("div", { class: "learn-layout__main" }, lessonArea, certificateArea,
        h("nav", { class: "lesson-pager", "aria-label": "Previous and next lesson" },
          index > 0 ? h("a", { href: learnUrl(slug, lessons[index - 1].slug), rel: "prev" },
            `← ${lessons[index - 1].title}`) : h("span"),
          index < lessons.length - 1 ? h("a", { href: learnUrl(slug, lessons[index + 1].slug), rel: "next" },
            `${lessons[index + 1].title} →`) : h("span")))));
  setMeta({ title: `${current.title} · ${course.title}`, description: current.summary || course.description,
    image: course.thumbnail_url });

  let lesson;
  try {
    lesson = (await get(`/learn/${encodeURIComponent(slug)}/lessons/${encodeURIComponent(current.slug)}`,
      { auth: "required" })).lesson;
  } catch (error) {
    if (error.status === 403 || error.status === 401) return handleError(error, slug);
    lessonArea.querySelector(".loading").replaceWith(notice("error", "This lesson could not be loaded",
      h("p", {}, error.message)));
    return;
  }
  const videoStatus = statusRegion();
  const saveStatus = statusRegion({ className: "status--quiet save-status" });
  saveStatus.id = "progress-status";
  const completion = h("div", { class: "lesson-completion" });
  const figure = player(lesson);
  lessonArea.querySelector(".loading").replaceWith(figure, videoStatus, completion, saveStatus,
    resources(lesson.resources || []));

  const next = lessons[index + 1];
  const state = { course, completed: Boolean(current.progress && current.progress.completed_at) };
  const tracker = heartbeat({
    completed: state.completed,
    position: current.progress ? current.progress.position_seconds : null,
    save: (body) => saveProgress(slug, current.slug, body, { keepalive: true }),
    onSaved: (data, body) => {
      const saved = (data && data.progress) || {};
      if (saved.completed_at && !state.completed) {
        state.completed = true;
        lessonCompleted();
      } else if (!body.completed) {
        setStatus(saveStatus, `Progress saved at ${clock(body.position_seconds)}.`, "info");
      }
    },
    onError: (error) => {
      if (error.status === 401 || error.status === 403) return handleError(error, slug);
      setStatus(saveStatus, `Your progress could not be saved: ${error.message} We will try again.`, "error");
    },
  });

  function showCompletion() {
    completion.replaceChildren(state.completed
      ? h("p", { class: "lesson-completion__done", id: "lesson-completed" },
        h("span", { "aria-hidden": "true" }, "✓ "), "You completed this lesson.")
      : h("button", { type: "button", class: "button button--secondary", id: "mark-complete",
        onclick: async (event) => {
          event.currentTarget.disabled = true;
          setStatus(saveStatus, "Saving…", "info");
          await tracker.complete();
          await tracker.settled();
          if (!state.completed) {
            const button = document.getElementById("mark-complete");
            if (button) button.disabled = false;
          }
        } }, "Mark as complete"));
  }

  async function lessonCompleted() {
    showCompletion();
    markCompletedInNav(current.slug);
    setStatus(saveStatus, next
      ? h("span", {}, "Lesson completed. Next: ", h("a", { href: learnUrl(slug, next.slug) }, next.title))
      : "Lesson completed.", "success");
    // The course's share, its next lesson, and maybe the certificate this completion earned.
    try {
      state.course = (await get(`/learn/${encodeURIComponent(slug)}`, { auth: "required" })).course;
    } catch (error) {
      if (error.status === 401 || error.status === 403) return handleError(error, slug);
      return;
    }
    showCourseProgress(courseProgress, state.course);
    for (const done of state.course.modules.flatMap((m) => m.lessons)) {
      if (done.progress && done.progress.completed_at) markCompletedInNav(done.slug);
    }
    await showCertificate(certificateArea, state.course, reissue);
  }

  showCompletion();
  tracker.opened(); // opening a lesson records it (the peer platform's scenario)
  const reissue = () => (state.completed
    ? saveProgress(slug, current.slug, { position_seconds: current.progress ? current.progress.position_seconds : 0,
      completed: true })
    : Promise.resolve());
  await showCertificate(certificateArea, course, reissue);

  // The player's events (see player.js): progress, and the end of the video said out loud.
  const resumeAt = !state.completed && current.progress ? current.progress.position_seconds : 0;
  let resumed = false;
  lessonArea.addEventListener("lectern:player", ({ detail }) => {
    if (detail.event === "canplay" && !resumed && resumeAt >= 1) {
      resumed = true;
      if (seek(figure, resumeAt)) setStatus(videoStatus, `Resuming where you left off (${clock(resumeAt)}).`, "info");
    }
    tracker.handle(detail);
    if (detail.event === "ended") {
      const text = next
        ? h("span", {}, "Video finished. Next: ", h("a", { href: learnUrl(slug, next.slug) }, next.title))
        : "Video finished: that was the last lesson of this course.";
      setStatus(videoStatus, text, "success");
    } else if (detail.event === "play") {
      setStatus(videoStatus, "");
    }
  });
  setInterval(() => tracker.tick(), TICK_MS);
  // Leaving the page (or the tab going to the background): save where the video is.
  addEventListener("pagehide", () => tracker.flush());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") tracker.flush();
  });
}

function showCourseProgress(container, course) {
  if (!course.progress) return container.replaceChildren();
  container.replaceChildren(progressMeter(percentOf(course.progress), progressText(course.progress)));
}

function markCompletedInNav(lessonSlug) {
  const link = document.querySelector(`.lesson-nav a[data-lesson="${CSS.escape(lessonSlug)}"]`);
  if (!link || link.dataset.completed === "true") return;
  link.dataset.completed = "true";
  link.append(completedMark());
}

function completedMark() {
  return h("span", { class: "lesson-nav__done" },
    h("span", { "aria-hidden": "true" }, " ✓"), h("span", { class: "visually-hidden" }, " (completed)"));
}

/** The course's certificate, once every lesson is complete (issued by the completing heartbeat). */
async function showCertificate(area, course, reissue = null) {
  const progress = course.progress;
  if (!progress || !progress.total_lessons || progress.completed_lessons < progress.total_lessons) return;
  let certificate = null;
  for (let attempt = 0; attempt < 3 && !certificate; attempt += 1) {
    if (attempt) await new Promise((resolve) => setTimeout(resolve, 1000));
    // Complete but no certificate (its issue failed, or the last open lesson was hidden): a completing
    // heartbeat for this lesson makes the server issue it (docs/api.md, the progress route).
    if (attempt === 1 && reissue) await reissue().catch(() => {});
    try {
      const list = (await myCertificates()).certificates;
      certificate = list.find((c) => c.course_slug === course.slug) || null;
    } catch {
      break;
    }
  }
  area.hidden = false;
  if (!certificate) {
    area.replaceChildren(h("h2", { id: "certificate-heading" }, "You completed this course"),
      h("p", {}, "Your certificate is on its way: find it on ", h("a", { href: "/certificates" }, "your certificates"),
        " in a moment."));
    return;
  }
  area.replaceChildren(certificateCard(certificate, { headingId: "certificate-heading", headingLevel: "h2",
    heading: certificate.status === "valid" ? "You earned a certificate" : "Certificate (revoked)" }));
}

function lessonNav(course, current) {
  return h("nav", { class: "lesson-nav", "aria-label": "Lessons" },
    course.modules.map((module) => h("section", { class: "lesson-nav__module" },
      h("h2", { class: "lesson-nav__heading" }, module.title),
      h("ol", {}, module.lessons.map((lesson) => h("li", {},
        h("a", {
          href: learnUrl(course.slug, lesson.slug),
          "aria-current": lesson.slug === current.slug ? "page" : null,
          dataset: lesson.progress && lesson.progress.completed_at
            ? { lesson: lesson.slug, completed: "true" } : { lesson: lesson.slug },
        }, lesson.title,
        lesson.resources && lesson.resources.length
          ? h("span", { class: "visually-hidden" }, ` (${lesson.resources.length} file${lesson.resources.length === 1 ? "" : "s"})`)
          : null,
        lesson.progress && lesson.progress.completed_at ? completedMark() : null)))))));
}

function resources(list) {
  if (!list.length) return null;
  const status = statusRegion();
  return h("section", { class: "resources", "aria-labelledby": "resources-heading" },
    h("h3", { id: "resources-heading" }, "Files for this lesson"),
    h("ul", { class: "resources__list" }, list.map((resource) => h("li", { class: "resources__item" },
      h("span", { class: "resources__name" }, resource.name),
      h("span", { class: "muted" }, ` ${formatBytes(resource.size_bytes)}`),
      h("button", {
        type: "button", class: "button button--small button--secondary",
        "aria-label": `Download ${resource.name}`, dataset: { resourceId: resource.id },
        onclick: (event) => download(resource, event.currentTarget, status),
      }, "Download")))),
    status);
}

async function download(resource, button, status) {
  button.disabled = true;
  setStatus(status, `Preparing ${resource.name}…`);
  try {
    const link = await get(`/resources/${encodeURIComponent(resource.id)}/download`,
      { auth: "required", accept: "application/json" });
    setStatus(status, `Downloading ${resource.name}.`, "success");
    // The presigned URL answers with Content-Disposition: attachment, so this page stays put.
    location.assign(link.url);
  } catch (error) {
    if (error.code === "not_entitled") return handleError(error, null);
    setStatus(status, error.message, "error");
  } finally {
    button.disabled = false;
  }
}

function notFound() {
  setMeta({ title: "Course not found" });
  render(pageNotice("warning", "Course not found",
    h("p", {}, "There is no such course. ", h("a", { href: "/library" }, "Go to my courses"), ".")));
}

function handleError(error, slug) {
  if (!(error instanceof ApiError)) throw error;
  if (error.status === 401) return location.replace(loginUrl());
  if (error.status === 404) return notFound();
  if (error.status === 403) {
    setMeta({ title: "No access to this course" });
    render(pageNotice("warning", "You no longer have access to this course",
      h("p", {}, "This course is not in your library. That happens when a purchase is refunded or cancelled, ",
        "or if it was bought with another email address."),
      h("p", { class: "actions" },
        h("a", { class: "button", href: "/library" }, "Go to my courses"),
        slug ? h("a", { class: "button button--secondary", href: courseUrl(slug) }, "See the course page") : null)));
    return;
  }
  throw error;
}
