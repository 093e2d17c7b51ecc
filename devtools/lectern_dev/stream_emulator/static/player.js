// The stand-in's player page: a <video> that talks to the page embedding it the way Cloudflare
// Stream's iframe player does, with postMessage and `__privateUnstableMessageType`:
//   to the page:   {iframeReady}, {event, eventName}, {propertyChange, property, value}
//                  (currentTime, duration, paused, ended, muted, volume: sent when they change,
//                  before the event that changed them)
//   from the page: {setProperty, property, value}, {playCommand}, {pauseCommand}
// A page without a <video> (the token was refused) reports an `error` event.
(() => {
  "use strict";
  const TYPE = "__privateUnstableMessageType";
  const embedder = window.parent !== window ? window.parent : null;
  // Nothing secret travels here (times and flags), so like Stream's player it posts to any origin.
  const post = (message) => { if (embedder) embedder.postMessage(message, "*"); };

  const video = document.querySelector("video");
  if (!video) {
    post({ [TYPE]: "event", eventName: "error" });
    return;
  }

  const sent = {};
  const property = (name, value) => {
    if (typeof value === "number" && !Number.isFinite(value)) return; // duration before metadata: NaN
    if (sent[name] === value) return;
    sent[name] = value;
    post({ [TYPE]: "propertyChange", property: name, value });
  };
  const EVENTS = ["loadstart", "loadedmetadata", "loadeddata", "canplay", "canplaythrough", "durationchange",
    "play", "playing", "pause", "seeking", "seeked", "timeupdate", "ended", "volumechange", "ratechange",
    "waiting", "stalled", "error"];
  const report = (name) => {
    property("duration", video.duration);
    property("currentTime", video.currentTime);
    property("paused", video.paused);
    property("ended", video.ended);
    property("muted", video.muted);
    property("volume", video.volume);
    post({ [TYPE]: "event", eventName: name });
  };
  for (const name of EVENTS) video.addEventListener(name, () => report(name));
  // When no source can be played the <video> fires nothing: its last <source> does.
  const sources = video.querySelectorAll("source");
  if (sources.length) sources[sources.length - 1].addEventListener("error", () => report("error"));

  const SETTABLE = {
    currentTime: "number", volume: "number", playbackRate: "number",
    muted: "boolean", loop: "boolean", autoplay: "boolean", controls: "boolean",
  };
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (event.source !== embedder || !data || typeof data !== "object") return;
    if (data[TYPE] === "setProperty" && typeof data.value === SETTABLE[data.property]) {
      video[data.property] = data.value;
    } else if (data[TYPE] === "playCommand") {
      video.play().catch(() => {}); // refused autoplay: the page sees no `play` event
    } else if (data[TYPE] === "pauseCommand") {
      video.pause();
    }
  });
  post({ [TYPE]: "iframeReady" });
})();
