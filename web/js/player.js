// The lesson player: Cloudflare Stream's iframe with the signed playback token from the API.
// The API hands out the frame's URL (`playback.iframe_url`): Stream's customer subdomain when
// deployed, the local stack's Stream stand-in in `make dev`. If the frame cannot play, the text
// link below it still shows where the video lives.
//
// Stream's iframe player posts its events to this page (postMessage, `__privateUnstableMessageType`:
// `propertyChange` {property, value} for currentTime, duration, paused…, then `event` {eventName}).
// Each player's <figure> keeps the latest state in data-player-state / data-current-time /
// data-duration, and re-dispatches every event as a bubbling "lectern:player" CustomEvent with
// {event, currentTime, duration}, for the page (and lesson progress) to use.
import { h } from "./ui.js";

const MESSAGE_TYPE = "__privateUnstableMessageType";
// data-player-state: loading → ready (can play) → playing / paused / ended, or error.
const STATES = { canplay: "ready", play: "playing", playing: "playing", pause: "paused", ended: "ended",
  error: "error" };

export function player(lesson) {
  const playback = lesson.playback;
  if (!playback) {
    return h("div", { class: "player player--empty" },
      h("p", {}, "This lesson has no video."));
  }
  const expires = new Date(playback.expires_at);
  return h("figure", { class: "player", dataset: { videoId: playback.video_id, playerState: "loading" } },
    h("div", { class: "player__frame" },
      h("iframe", {
        src: playback.iframe_url,
        title: `Video: ${lesson.title}`,
        allow: "accelerometer; gyroscope; autoplay; encrypted-media; picture-in-picture; fullscreen",
        allowfullscreen: true,
        referrerpolicy: "strict-origin-when-cross-origin",
        loading: "lazy",
      })),
    h("figcaption", { class: "player__caption" },
      "Video not playing? ",
      h("a", { href: playback.iframe_url, target: "_blank", rel: "noopener", class: "player__link" },
        "Open the video in a new tab"),
      Number.isNaN(expires.getTime()) ? null
        : h("span", { class: "player__expiry" }, ` (this link works until ${expires.toLocaleTimeString()})`)));
}

/** The player whose frame sent `event`, if the message really comes from that frame's origin. */
function playerOf(event) {
  for (const frame of document.querySelectorAll(".player iframe")) {
    if (frame.contentWindow !== event.source) continue;
    try {
      return new URL(frame.src).origin === event.origin ? frame.closest(".player") : null;
    } catch {
      return null;
    }
  }
  return null;
}

// One listener for every player on the page (pages are full loads, so nothing to remove).
window.addEventListener("message", (event) => {
  const data = event.data;
  if (!data || typeof data !== "object" || typeof data[MESSAGE_TYPE] !== "string") return;
  const figure = playerOf(event);
  if (!figure) return;
  const type = data[MESSAGE_TYPE];
  if (type === "propertyChange" && typeof data.value === "number" && Number.isFinite(data.value)) {
    if (data.property === "currentTime") figure.dataset.currentTime = String(data.value);
    if (data.property === "duration") figure.dataset.duration = String(data.value);
    return;
  }
  let name;
  if (type === "event" && typeof data.eventName === "string") name = data.eventName;
  else if (type === "iframeReady") name = type;
  else return;
  const state = STATES[name];
  // "ready" only ever follows "loading": canplay after a seek must not hide that the video is playing.
  if (state && (state !== "ready" || figure.dataset.playerState === "loading")) figure.dataset.playerState = state;
  figure.dispatchEvent(new CustomEvent("lectern:player", { bubbles: true, detail: {
    event: name,
    currentTime: Number(figure.dataset.currentTime || 0),
    duration: figure.dataset.duration ? Number(figure.dataset.duration) : null,
  } }));
});

/** Move a player to `seconds` (Stream's `setProperty` message, to the frame's own origin only). */
export function seek(figure, seconds) {
  const frame = figure && figure.querySelector("iframe");
  if (!frame || !frame.contentWindow) return false;
  let origin;
  try {
    origin = new URL(frame.src).origin;
  } catch {
    return false;
  }
  frame.contentWindow.postMessage({ [MESSAGE_TYPE]: "setProperty", property: "currentTime", value: seconds }, origin);
  return true;
}
