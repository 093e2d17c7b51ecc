// "/learn?course=<slug>&lesson=<slug>": the course player for a learner who owns the course.
// Every load asks the API again, so a refunded or revoked course is gone on the next load
// (403 not_entitled) and the page says so.
import { ApiError, get } from "../api.js";
import * as session from "../session.js";
import { SLUG, courseUrl, formatBytes, h, learnUrl, loginUrl, notice, pageNotice, render, setMeta, setStatus,
  statusRegion } from "../ui.js";
import { player } from "../player.js";

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
  const current = lessons.find((lesson) => lesson.slug === requested) || lessons[0];
  const index = lessons.indexOf(current);

  const lessonArea = h("article", { class: "lesson", "aria-labelledby": "lesson-title" },
    h("h2", { id: "lesson-title" }, current.title),
    current.summary ? h("p", { class: "lede" }, current.summary) : null,
    h("p", { class: "loading", role: "status" }, "Loading the lesson…"));

  render(
    h("div", { class: "learn-header" },
      h("p", { class: "breadcrumbs" }, h("a", { href: "/library" }, "My courses")),
      h("h1", {}, course.title)),
    h("div", { class: "learn-layout" },
      lessonNav(course, current),
      h("div", { class: "learn-layout__main" }, lessonArea,
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
  lessonArea.querySelector(".loading").replaceWith(player(lesson), videoStatus, resources(lesson.resources || []));
  // The player's events (see player.js): say so when the video has been watched to the end.
  const next = lessons[index + 1];
  lessonArea.addEventListener("lectern:player", ({ detail }) => {
    if (detail.event === "ended") {
      const text = next
        ? h("span", {}, "Video finished. Next: ", h("a", { href: learnUrl(slug, next.slug) }, next.title))
        : "Video finished: that was the last lesson of this course.";
      setStatus(videoStatus, text, "success");
    } else if (detail.event === "play") {
      setStatus(videoStatus, "");
    }
  });
}

function lessonNav(course, current) {
  return h("nav", { class: "lesson-nav", "aria-label": "Lessons" },
    course.modules.map((module) => h("section", { class: "lesson-nav__module" },
      h("h2", { class: "lesson-nav__heading" }, module.title),
      h("ol", {}, module.lessons.map((lesson) => h("li", {},
        h("a", {
          href: learnUrl(course.slug, lesson.slug),
          "aria-current": lesson.slug === current.slug ? "page" : null,
        }, lesson.title,
        lesson.resources && lesson.resources.length
          ? h("span", { class: "visually-hidden" }, ` (${lesson.resources.length} file${lesson.resources.length === 1 ? "" : "s"})`)
          : null)))))));
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
