// omv-web's page: the live picture read from /stream.mjpg, the cam's
// info and clients from /api, stdout and state from /events, and the
// script box. Plain JS, no build step, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);

function setPill(el, text, kind) {
  el.textContent = text;
  el.className = "pill" + (kind ? " " + kind : "");
}

// ---- the live picture ------------------------------------------------

// The stream is multipart/x-mixed-replace: each part has headers (with
// Content-Length and X-Frame-Number), a blank line, then the JPEG. We
// read it ourselves so the frame number shown is the picture's own.
const live = {
  canvas: null,
  shown: [],          // times of the frames drawn in the last second
  drawing: false,
  next: null,         // the newest frame waiting while one is drawn
  blob: null,         // the picture on screen, for Save snapshot
  number: 0,
};

const CRLFCRLF = [13, 10, 13, 10];

function indexOf(buf, pattern, from) {
  outer: for (let i = from; i + pattern.length <= buf.length; i++) {
    for (let k = 0; k < pattern.length; k++)
      if (buf[i + k] !== pattern[k]) continue outer;
    return i;
  }
  return -1;
}

function draw(frame) {
  if (live.drawing) {            // the browser is behind: keep the newest
    live.next = frame;
    return;
  }
  live.drawing = true;
  createImageBitmap(frame.blob).then((bmp) => {
    const c = live.canvas;
    if (c.width !== bmp.width || c.height !== bmp.height) {
      c.width = bmp.width;
      c.height = bmp.height;
    }
    c.getContext("2d").drawImage(bmp, 0, 0);
    bmp.close();
    live.blob = frame.blob;
    live.number = frame.number;
    $("frame-number").textContent = frame.number;
    $("save").disabled = false;
    $("view-note").textContent = "";
    const now = performance.now();
    live.shown.push(now);
    while (live.shown.length && live.shown[0] < now - 1000) live.shown.shift();
  }).catch(() => {}).finally(() => {
    live.drawing = false;
    if (live.next) {
      const f = live.next;
      live.next = null;
      draw(f);
    }
  });
}

async function readStream() {
  const resp = await fetch("/stream.mjpg", { cache: "no-store" });
  if (!resp.ok) throw new Error("stream: HTTP " + resp.status);
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("stream ended");
    const joined = new Uint8Array(buf.length + value.length);
    joined.set(buf);
    joined.set(value, buf.length);
    buf = joined;
    for (;;) {
      const end = indexOf(buf, CRLFCRLF, 0);
      if (end < 0) break;
      const head = decoder.decode(buf.subarray(0, end));
      const len = /content-length:\s*(\d+)/i.exec(head);
      const num = /x-frame-number:\s*(\d+)/i.exec(head);
      if (!len) {                // not a part header: skip past it
        buf = buf.slice(end + 4);
        continue;
      }
      const size = parseInt(len[1], 10);
      if (buf.length < end + 4 + size) break;
      const jpeg = buf.slice(end + 4, end + 4 + size);
      buf = buf.slice(end + 4 + size);
      draw({ blob: new Blob([jpeg], { type: "image/jpeg" }),
             number: num ? parseInt(num[1], 10) : live.number + 1 });
    }
  }
}

function startStream() {
  readStream().catch((err) => {
    $("view-note").textContent = String(err.message || err) + "; retrying";
    setTimeout(startStream, 1000);
  });
}

function showFps() {
  const now = performance.now();
  while (live.shown.length && live.shown[0] < now - 1000) live.shown.shift();
  $("fps").textContent = live.shown.length;
}

function saveSnapshot() {
  if (!live.blob) return;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(live.blob);
  a.download = "frame-" + live.number + ".jpg";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---- cam info, status, clients --------------------------------------

let control = false;

async function getJSON(path) {
  const resp = await fetch(path, { cache: "no-store" });
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.error ? body.error.message : "HTTP " + resp.status);
  return body;
}

function version(v) {
  return Array.isArray(v) ? v.join(".") : "-";
}

function hex(n, width) {
  return "0x" + Number(n).toString(16).padStart(width, "0");
}

function showInfo(info) {
  const st = info.status || {};
  const sys = info.system_info;
  const ver = info.version;
  const caps = st.caps;
  const rows = [
    ["port", st.port || "-"],
    ["link", (st.link || "-") + (st.reason && st.link !== "ready" ? " (" + st.reason + ")" : "")],
    ["firmware", ver ? version(ver.firmware_version) : "-"],
    ["protocol", ver ? version(ver.protocol_version) : "-"],
    ["bootloader", ver ? version(ver.bootloader_version) : "-"],
    ["board", sys ? "USB " + hex(sys.usb_vid, 4) + ":" + hex(sys.usb_pid, 4) +
      ", cpu " + hex(sys.cpu_id, 8) : "-"],
    ["memory", sys ? sys.ram_size_kb + " KiB RAM, " + sys.flash_size_kb +
      " KiB flash, frame buffer " + sys.framebuffer_size_kb + " KiB" : "-"],
    ["caps", caps ? ["crc", "seq", "ack", "events"].filter((k) => caps[k]).join(" ") +
      ", payload " + caps.max_payload : "-"],
    ["streaming", st.shared ? (st.shared.streaming ? "on" : "off") +
      (st.shared.raw ? " (raw)" : "") : "-"],
    ["omvd clients", st.clients !== undefined ? st.clients : "-"],
  ];
  const dl = $("info");
  dl.replaceChildren();
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = v;
    dl.append(dt, dd);
  }
}

function showClients(list) {
  const body = $("clients").tBodies[0];
  body.replaceChildren();
  for (const c of list) {
    const tr = document.createElement("tr");
    if (c.self) tr.className = "self";
    for (const v of [c.id, c.name || (c.self ? "omv-web" : ""), c.calls, c.frames_sent,
                     c.frames_dropped, (c.subscriptions || []).join(" ")]) {
      const td = document.createElement("td");
      td.textContent = v === undefined || v === null ? "" : v;
      tr.append(td);
    }
    body.append(tr);
  }
}

async function refresh() {
  try {
    const info = await getJSON("/api/info");
    showInfo(info);
    if (info.status) showLink(info.status.link, info.status.reason);
    control = info.web.control;
    $("run").disabled = $("stop").disabled = !control;
    $("control-note").textContent = control ? "" :
      "view only: open the address omv-web printed (with ?token=) to run scripts";
  } catch (err) {
    setPill($("link"), "omv-web: " + err.message, "bad");
  }
  try {
    showClients(await getJSON("/api/clients"));
  } catch (err) {
    showClients([]);
  }
}

// ---- events: link, state, stdout ------------------------------------

const STDOUT_KEEP = 64 * 1024;

function appendStdout(text, replace) {
  const pre = $("stdout");
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  let all = (replace ? "" : pre.textContent) + text;
  if (all.length > STDOUT_KEEP) all = all.slice(all.length - STDOUT_KEEP);
  pre.textContent = all;
  if (atEnd) pre.scrollTop = pre.scrollHeight;
}

function showLink(state, reason) {
  const kind = state === "ready" ? "ok" : state === "closed" ? "bad" : "warn";
  setPill($("link"), state === "ready" ? "cam ready" : "cam " + state +
    (reason ? ": " + reason : ""), kind);
}

function showState(st) {
  const run = st.run ? " (run " + st.run + ")" : "";
  setPill($("script-state"), st.script_running ? "running" + run : "idle",
          st.script_running ? "ok" : "");
}

function listen() {
  const es = new EventSource("/events");
  es.addEventListener("daemon", (e) => {
    const d = JSON.parse(e.data);
    if (!d.connected) {
      setPill($("link"), "omvd: " + (d.reason || "not connected"), "bad");
    } else {
      appendStdout("", true);    // a new connection to omvd replays the output
      refresh();
    }
  });
  es.addEventListener("link", (e) => {
    const d = JSON.parse(e.data);
    showLink(d.state, d.reason);
    if (d.state === "ready") refresh();
  });
  es.addEventListener("state", (e) => showState(JSON.parse(e.data)));
  es.addEventListener("stdout", (e) => {
    const d = JSON.parse(e.data);
    appendStdout(d.text, d.replay);
  });
}

// ---- script box -----------------------------------------------------

async function post(path, body) {
  const resp = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "text/plain; charset=utf-8" },
    body: body || "",
  });
  const reply = await resp.json();
  if (!resp.ok) throw new Error(reply.error ? reply.error.message : "HTTP " + resp.status);
  return reply;
}

async function run() {
  try {
    const r = await post("/api/exec", $("script").value);
    $("control-note").textContent = r.run ? "started run " + r.run : "started";
  } catch (err) {
    $("control-note").textContent = "run: " + err.message;
  }
}

async function stop() {
  try {
    await post("/api/stop");
    $("control-note").textContent = "stopped";
  } catch (err) {
    $("control-note").textContent = "stop: " + err.message;
  }
}

function openFile(ev) {
  const file = ev.target.files[0];
  if (!file) return;
  file.text().then((text) => { $("script").value = text; });
  ev.target.value = "";
}

// ---- start ----------------------------------------------------------

window.addEventListener("DOMContentLoaded", () => {
  live.canvas = $("view");
  $("save").addEventListener("click", saveSnapshot);
  $("run").addEventListener("click", run);
  $("stop").addEventListener("click", stop);
  $("file").addEventListener("change", openFile);
  startStream();
  listen();
  refresh();
  setInterval(showFps, 250);
  setInterval(() => getJSON("/api/clients").then(showClients).catch(() => {}), 2000);
});
