// clipper dashboard: fills the page shells from /api/* (no framework, no build step).
"use strict";
(function () {
  const app = document.getElementById("app");
  const page = document.body.dataset.page;
  const channelName = document.body.dataset.channel;

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids.flat()) {
      if (k === null || k === undefined) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }
  function show(...nodes) { app.replaceChildren(...nodes.filter((n) => n != null)); }
  function note(msg, cls) { return el("p", { class: cls || "note", role: cls === "error" ? "alert" : null }, msg); }

  async function api(path, opts) {
    const r = await fetch(path, Object.assign({ credentials: "same-origin", headers: { "Content-Type": "application/json" } }, opts || {}));
    if (r.status === 401) { location.href = "/login"; throw new Error("not logged in"); }
    const text = await r.text();
    const body = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error((body && body.error) || r.statusText);
    return body;
  }
  const fmt = {
    num: (x, d) => (x === null || x === undefined ? "–" : Number(x).toFixed(d === undefined ? 2 : d)),
    time: (ms) => (ms ? new Date(ms).toLocaleString() : "–"),
    day: (ms) => new Date(ms).toISOString().slice(0, 10),
  };

  // ---- overview ----
  async function overview() {
    const me = await api("/api/me");
    const status = el("p", { class: "note", role: "status" });
    const table = el("table", {},
      el("caption", { class: "sr" }, "Watched channels"),
      el("thead", {}, el("tr", {}, ["Channel", "Watching", "Live", "Viewers", "Msgs/min", "Last score", "Clips today", "Paused", ""].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", { id: "rows" }));
    const add = el("form", { id: "add", class: "row" },
      el("label", { for: "new-channel" }, "Add a channel"),
      el("input", { id: "new-channel", name: "channel", required: true, pattern: "[A-Za-z0-9_]{1,25}", placeholder: "channel login", autocomplete: "off" }),
      el("button", { type: "submit" }, "Start watching"));
    add.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const name = add.channel.value.trim().replace(/^#/, "").toLowerCase();
      try {
        await api("/api/channels/" + encodeURIComponent(name), { method: "PUT", body: JSON.stringify({ enabled: true }) });
        add.reset();
        status.textContent = "Watching #" + name + " now.";
        await refresh();
      } catch (e) { status.textContent = "Not added: " + e.message; }
    });
    show(me.admin ? add : "", status, el("div", { class: "scroll" }, table));

    async function setEnabled(c, enabled) {
      try {
        await api("/api/channels/" + c, { method: "PUT", body: JSON.stringify({ enabled }) });
        status.textContent = (enabled ? "Watching #" : "Stopped watching #") + c + ".";
        await refresh();
      } catch (e) { status.textContent = e.message; }
    }
    async function remove(c) {
      if (!confirm("Remove #" + c + " from the channels file?")) return;
      try { await api("/api/channels/" + c, { method: "DELETE" }); status.textContent = "Removed #" + c + "."; await refresh(); }
      catch (e) { status.textContent = e.message; }
    }
    async function refresh() {
      let list;
      try { list = await api("/api/channels"); } catch (e) { show(note(e.message, "error")); return false; }
      const rows = list.map((c) => {
        const s = c.live_state || {};
        return el("tr", {},
          el("th", { scope: "row" }, el("a", { href: "/channel/" + c.channel }, "#" + c.channel)),
          el("td", {}, c.enabled ? "yes" : "no"),
          el("td", {}, el("span", { class: "badge " + (s.live ? "on" : "off") }, s.live === true ? "live" : s.live === false ? "offline" : "?")),
          el("td", {}, s.viewers ?? "–"),
          el("td", {}, fmt.num(s.msgs_per_min, 0)),
          el("td", {}, fmt.num(s.last_score)),
          el("td", {}, c.clips_today),
          el("td", {}, s.paused || "no"),
          el("td", { class: "actions" },
            el("button", { type: "button", onclick: () => setEnabled(c.channel, !c.enabled) }, c.enabled ? "Stop" : "Start"),
            me.admin ? el("button", { type: "button", class: "danger", onclick: () => remove(c.channel) }, "Remove") : ""));
      });
      document.getElementById("rows").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 9 }, "No channels yet."))]));
      return true;
    }
    if (await refresh()) setInterval(refresh, 5000);
  }

  // ---- channel ----
  async function channel() {
    const list = await api("/api/channels");
    const cfg = list.find((c) => c.channel === channelName);
    if (!cfg) { show(note("#" + channelName + " is not watched (or not yours).", "error")); return; }
    const chartBox = el("div", { id: "timeline", class: "chart", role: "img", "aria-label": "Chat rate, score and threshold over time; dots mark clips" });
    const live = el("p", { class: "note", id: "live-note", role: "status" }, "Waiting for the next window…");
    const clipList = el("ul", { id: "recent-clips" });
    show(el("section", {}, el("h2", {}, "Live timeline"), live, chartBox),
      el("section", {}, el("h2", {}, "Settings"), settingsForm(cfg)),
      el("section", {}, el("h2", {}, "Recent clips"), clipList));

    const N = 360;
    const data = [[], [], [], [], []]; // time s, msgs/min, score, threshold, clip marker
    const width = () => Math.max(280, chartBox.clientWidth || 600);
    const plot = new uPlot({
      width: width(), height: 260,
      series: [{},
        { label: "msgs/min", stroke: "#2a6fdb", scale: "rate", width: 1.5 },
        { label: "score", stroke: "#c2410c", scale: "score", width: 1.5 },
        { label: "threshold", stroke: "#6b7280", dash: [6, 4], scale: "score", width: 1 },
        { label: "clip", stroke: "#16a34a", scale: "score", width: 0, points: { show: true, size: 10, fill: "#16a34a" } }],
      scales: { score: { range: [0, 1] } },
      axes: [{}, { scale: "rate", label: "msgs/min" }, { scale: "score", side: 1, label: "score", grid: { show: false } }],
    }, data, chartBox);
    window.addEventListener("resize", () => plot.setSize({ width: width(), height: 260 }));

    const clips = await api("/api/clips?channel=" + channelName + "&since=24h");
    clips.slice(-10).reverse().forEach((c) => clipList.append(clipItem(c)));
    function markClip(c) {
      const t = c.trigger_ms / 1000;
      if (!data[0].length || t < data[0][0] - 60) return false; // before the chart (a minute of slack)
      let i = data[0].findIndex((x) => x >= t);
      if (i < 0) i = data[0].length - 1;
      data[4][i] = c.score > 1 ? 1 : c.score;
      return true;
    }

    let windows = 0, lastEnd = 0;
    function addWindow(ev, history) {
      if (ev.end_ms <= lastEnd) return; // already shown (history, or a repeated poll)
      lastEnd = ev.end_ms;
      data[0].push(ev.end_ms / 1000); data[1].push(ev.msgs_per_min);
      data[2].push(ev.score); data[3].push(ev.threshold); data[4].push(null);
      if (data[0].length > N) data.forEach((s) => s.shift());
      if (history) return;
      windows++;
      plot.setData(data);
      live.textContent = windows + " windows live · last score " + fmt.num(ev.score) + " · threshold " + fmt.num(ev.threshold) + " · " + fmt.num(ev.msgs_per_min, 0) + " msgs/min";
      document.body.dataset.windows = String(windows);
    }
    // The last 30 minutes first, then what comes live.
    try {
      const past = await api("/api/channels/" + channelName + "/windows");
      past.forEach((ev) => addWindow(ev, true));
      clips.forEach(markClip);
      plot.setData(data);
      if (past.length) live.textContent = past.length + " windows in the last 30 min · waiting for the next…";
      document.body.dataset.history = String(past.length);
    } catch (e) { live.textContent = "History unavailable: " + e.message; }
    const es = new EventSource("/api/events?channel=" + encodeURIComponent(channelName));
    es.onmessage = (m) => {
      const ev = JSON.parse(m.data);
      if (ev.channel !== channelName) return;
      if (ev.type === "window") {
        addWindow(ev, false);
      } else if (ev.type === "clip") {
        if (markClip(ev)) plot.setData(data);
        // A clip already shown (a state change; polled events repeat) is updated in place.
        const item = clipItem(ev);
        const shown = [...clipList.children].find((li) => li.dataset.requestId === ev.request_id);
        if (shown) { shown.replaceWith(item); return; }
        clipList.prepend(item);
        document.body.dataset.clips = String((Number(document.body.dataset.clips) || 0) + 1);
      }
    };
  }

  function clipItem(c) {
    return el("li", { "data-request-id": c.request_id }, el("span", { class: "badge " + c.status }, c.status), " ",
      c.url ? el("a", { href: c.url, rel: "noopener", target: "_blank" }, c.title || "clip") : (c.title || "clip"),
      " · " + (c.trigger || c.kind) + " · score " + fmt.num(c.score) + " · " + fmt.time(c.trigger_ms));
  }

  function settingsForm(cfg) {
    const f = el("form", { id: "settings", class: "settings" });
    const field = (id, label, input, hint) => el("div", { class: "field" }, el("label", { for: id }, label), input, hint ? el("small", {}, hint) : "");
    f.append(
      field("s-enabled", "Watching", el("input", { id: "s-enabled", type: "checkbox", checked: cfg.enabled })),
      field("s-threshold", "Threshold (0–1)", el("input", { id: "s-threshold", type: "number", min: 0, max: 1, step: 0.01, value: cfg.threshold ?? "" }), "empty: the channel's adaptive threshold"),
      field("s-cooldown", "Cooldown (s)", el("input", { id: "s-cooldown", type: "number", min: 0, step: 1, value: cfg.cooldown_ms == null ? "" : cfg.cooldown_ms / 1000 })),
      field("s-duration", "Clip length (s)", el("input", { id: "s-duration", type: "number", min: 5, max: 60, step: 1, value: cfg.clip_duration_s ?? "" }), "empty: reach back to the moment (30–60 s)"));
    // Every other setting the channel record has (notifications, ...), as text.
    const known = new Set(["channel", "enabled", "threshold", "cooldown_ms", "clip_duration_s", "live_state", "clips_today"]);
    const extra = Object.keys(cfg).filter((k) => !known.has(k) && (cfg[k] === null || typeof cfg[k] !== "object"));
    for (const k of extra) {
      f.append(field("s-" + k, k.replace(/_/g, " "), el("input", { id: "s-" + k, "data-key": k, "data-type": typeof cfg[k], value: cfg[k] ?? "" })));
    }
    const msg = el("p", { class: "note", role: "status" });
    f.append(el("button", { type: "submit" }, "Save"), msg);
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const num = (id) => { const v = f.querySelector(id).value; return v === "" ? null : Number(v); };
      const body = { enabled: f.querySelector("#s-enabled").checked, threshold: num("#s-threshold") };
      const cd = num("#s-cooldown"); body.cooldown_ms = cd === null ? null : Math.round(cd * 1000);
      body.clip_duration_s = num("#s-duration");
      for (const input of f.querySelectorAll("[data-key]")) {
        const v = input.value;
        body[input.dataset.key] = v === "" ? null : input.dataset.type === "number" ? Number(v) : input.dataset.type === "boolean" ? v === "true" : v;
      }
      try { await api("/api/channels/" + cfg.channel, { method: "PUT", body: JSON.stringify(body) }); msg.textContent = "Saved."; }
      catch (e) { msg.textContent = "Not saved: " + e.message; }
    });
    return f;
  }

  // ---- clips ----
  async function clipsPage() {
    const list = await api("/api/channels");
    const f = el("form", { id: "filters", class: "row" },
      el("label", { for: "f-channel" }, "Channel"),
      el("select", { id: "f-channel", name: "channel" }, el("option", { value: "" }, "all"), list.map((c) => el("option", { value: c.channel }, c.channel))),
      el("label", { for: "f-since" }, "Since"),
      el("input", { id: "f-since", name: "since", type: "date" }),
      el("label", { for: "f-status" }, "Status"),
      el("select", { id: "f-status", name: "status" }, ["", "confirmed", "pending", "failed", "skipped", "would_clip"].map((s) => el("option", { value: s }, s || "any"))),
      el("label", { for: "f-sort" }, "Sort"),
      el("select", { id: "f-sort", name: "sort" }, el("option", { value: "time" }, "newest"), el("option", { value: "score" }, "score"), el("option", { value: "views" }, "views")));
    const exports = el("p", { class: "exports" });
    const out = el("div", { id: "clip-list", class: "cards" });
    show(f, exports, out);
    const https = location.protocol === "https:";
    async function load() {
      const q = new URLSearchParams();
      if (f.channel.value) q.set("channel", f.channel.value);
      if (f.since.value) q.set("since", f.since.value + "T00:00:00Z");
      if (f.status.value) q.set("status", f.status.value);
      exports.replaceChildren("Export: ",
        el("a", { href: "/api/clips?" + q + "&format=csv", download: "clips.csv" }, "CSV"), " · ",
        el("a", { href: "/api/clips?" + q + "&format=json", download: "clips.json" }, "JSON"));
      let rows;
      try { rows = await api("/api/clips?" + q); } catch (e) { out.replaceChildren(note(e.message, "error")); return; }
      const by = { score: (a, b) => b.score - a.score, views: (a, b) => (b.views ?? -1) - (a.views ?? -1) || b.trigger_ms - a.trigger_ms };
      rows.sort(by[f.sort.value] || ((a, b) => b.trigger_ms - a.trigger_ms));
      out.replaceChildren(...(rows.length ? rows.map((c) => clipCard(c, https)) : [note("No clips match.")]));
    }
    f.addEventListener("change", load);
    await load();
  }

  function clipCard(c, https) {
    let media;
    if (https && c.clip_id && c.status === "confirmed") {
      media = el("iframe", { src: "https://clips.twitch.tv/embed?clip=" + encodeURIComponent(c.clip_id) + "&parent=" + location.hostname, title: c.title, allowfullscreen: true, loading: "lazy", width: 320, height: 180 });
    } else if (c.thumbnail_url) {
      media = el("img", { class: "thumb", src: c.thumbnail_url, alt: "Preview of " + (c.title || "the clip"), loading: "lazy", width: 320, height: 180 });
    } else {
      media = el("div", { class: "thumb", "aria-hidden": "true" }, (c.trigger || c.kind || "").replace(/_/g, " "));
    }
    return el("article", { class: "card" }, media,
      el("h2", {}, c.title || "(untitled)"),
      el("p", {}, el("span", { class: "badge " + c.status }, c.status), " #" + c.channel + " · " + c.trigger + " · score " + fmt.num(c.score)),
      el("p", {}, fmt.time(c.trigger_ms) + (c.views == null ? "" : " · " + c.views + " views")),
      el("p", { class: "links" },
        c.url ? el("a", { href: c.url, target: "_blank", rel: "noopener" }, "Watch") : "",
        c.url && c.edit_url ? " · " : "",
        c.edit_url ? el("a", { href: c.edit_url, target: "_blank", rel: "noopener" }, "Edit") : "",
        c.error ? el("small", { class: "error" }, c.error) : ""),
      c.status === "confirmed" && c.clip_id ? downloadButton(c) : "");
  }

  // Get Clips Download: saved to disk by `clipper run`, a link on AWS; otherwise the reason.
  function downloadButton(c) {
    const msg = el("p", { class: "note download-result", role: "status" });
    const b = el("button", { type: "button", class: "download" }, "Download");
    b.addEventListener("click", async () => {
      b.disabled = true; msg.textContent = "Downloading…";
      try {
        const d = await api("/api/clips/" + encodeURIComponent(c.request_id) + "/download", { method: "POST" });
        msg.replaceChildren(d.saved ? (d.already ? "Already saved: " : "Saved to ") + d.saved + " (" + fmt.num(d.bytes / 1048576, 1) + " MB) · " : "",
          el("a", { href: d.url, rel: "noopener noreferrer", target: "_blank" }, d.saved ? "Twitch link" : "Download from Twitch"));
      } catch (e) { msg.className = "note error"; msg.textContent = "Not downloaded: " + e.message; }
      b.disabled = false;
    });
    return el("div", { class: "download-box" }, b, msg);
  }

  // ---- analytics ----
  async function analytics() {
    const rows = await api("/api/clips?since=30d");
    const byDay = new Map(), channels = new Set(), kinds = new Map(), statuses = new Map();
    for (const r of rows) {
      const d = fmt.day(r.trigger_ms);
      channels.add(r.channel);
      if (!byDay.has(d)) byDay.set(d, new Map());
      byDay.get(d).set(r.channel, (byDay.get(d).get(r.channel) || 0) + 1);
      kinds.set(r.trigger, (kinds.get(r.trigger) || 0) + 1);
      statuses.set(r.status, (statuses.get(r.status) || 0) + 1);
    }
    const days = [...byDay.keys()].sort();
    const chans = [...channels].sort();
    const chart = el("div", { id: "per-day", class: "chart", role: "img", "aria-label": "Clips per day and channel, last 30 days" });
    const bars = (m, caption, max) => el("table", { class: "bars" }, el("caption", {}, caption),
      el("tbody", {}, [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) =>
        el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, el("meter", { min: 0, max: max || rows.length || 1, value: v }), " " + v)))));
    const ok = statuses.get("confirmed") || 0, failed = statuses.get("failed") || 0;
    const views = new Map();
    for (const r of rows) if (r.views != null) views.set("#" + r.channel, (views.get("#" + r.channel) || 0) + r.views);
    const top = rows.filter((r) => r.views != null).sort((a, b) => b.views - a.views).slice(0, 5);
    const viewsPart = views.size ? el("section", { id: "views" }, el("h2", {}, "Views (Twitch, refreshed every 10 min)"),
      el("div", { class: "grid2" }, bars(views, "Views per channel", Math.max(...views.values())),
        el("table", { class: "bars" }, el("caption", {}, "Most viewed clips"), el("tbody", {}, top.map((r) =>
          el("tr", {}, el("th", { scope: "row" }, r.url ? el("a", { href: r.url, target: "_blank", rel: "noopener" }, r.title || r.clip_id) : r.title), el("td", {}, r.views + " views"))))))) : null;
    show(el("p", {}, rows.length + " clips in 30 days · confirmed " + ok + " · failed " + failed + (ok + failed ? " (" + Math.round((100 * ok) / (ok + failed)) + " % confirmed)" : "")),
      el("p", { class: "exports" }, "Export: ", el("a", { href: "/api/clips?since=30d&format=csv" }, "CSV"), " · ", el("a", { href: "/api/clips?since=30d&format=json" }, "JSON")),
      el("section", {}, el("h2", {}, "Clips per day"), chart),
      el("div", { class: "grid2" }, bars(kinds, "Trigger kinds"), bars(statuses, "Status (confirmed vs failed)")), viewsPart);
    if (!days.length) { chart.replaceChildren(note("No clips yet.")); return; }
    const palette = ["#2a6fdb", "#c2410c", "#16a34a", "#9333ea", "#0891b2", "#ca8a04"];
    const data = [days.map((d) => Date.parse(d + "T00:00:00Z") / 1000)].concat(chans.map((c) => days.map((d) => byDay.get(d).get(c) || 0)));
    const width = () => Math.max(280, chart.clientWidth || 600);
    const plot = new uPlot({
      width: width(), height: 240,
      series: [{}].concat(chans.map((c, i) => ({ label: "#" + c, stroke: palette[i % palette.length], width: 2, points: { show: true } }))),
      axes: [{}, { label: "clips" }],
    }, data, chart);
    window.addEventListener("resize", () => plot.setSize({ width: width(), height: 240 }));
  }

  const pages = { overview, channel, clips: clipsPage, analytics };
  (pages[page] || overview)().catch((e) => show(note(e.message, "error")));
})();
