// The lesson player: Cloudflare Stream's iframe with the signed playback token from the API.
// (Offline, or before the creator sets up Stream, the frame stays blank: the text link below
// it still shows where the video lives.)
import { h } from "./ui.js";

export function player(lesson) {
  const playback = lesson.playback;
  if (!playback) {
    return h("div", { class: "player player--empty" },
      h("p", {}, "This lesson has no video."));
  }
  const expires = new Date(playback.expires_at);
  return h("figure", { class: "player", dataset: { videoId: playback.video_id } },
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
