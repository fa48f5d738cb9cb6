// footfall coach, page side (runner and therapist views): the session's messages from the
// server (SSE), the numbers on screen, and the sound (Web Audio).
//
// The processor decides when each channel gives feedback (its `feedback` events, on the
// session's own time); this page decides the cues from the processor's events:
//   - impact: one tone per step over the impact target (the runner's baseline PTA x target %),
//     pitch and loudness rising with how far over, while the impact channel is on at the step's
//     time; steps that were already stale when the server sent them get none;
//   - metronome: beats at the target step rate, scheduled on the audio clock (beat k of a run at
//     t0 + k*60/spm exactly: it never drifts); "on" plays whenever the cadence channel is on,
//     "auto" (and bandwidth mode) starts after N steps below the target band and stops after N
//     steps back in it.
// Every cue is appended to window.footfall.cues:
//   {kind: 'impact'|'metronome', t (AudioContext s), scheduledAtMs (UTC ms when scheduled),
//    audibleMs (UTC ms its first sample reaches the output), step (what it answers),
//    impact: level 1-6, overPct; metronome: beat, run, spm}
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const FF = (window.footfall = window.footfall || {});
  Object.assign(FF, { cues: [], steps: [], stale: [], missed: [], messages: 0, connected: false });
  const nowMs = () => performance.timeOrigin + performance.now();
  FF.nowMs = nowMs;

  const LOOKAHEAD_S = 0.12;  // the metronome schedules beats this far ahead on the audio clock
  const TICK_MS = 25;        // ... checked this often
  // an impact cue starts this long after it is scheduled: with 0 its start can slip by one
  // audio callback (~10 ms of jitter); 15 ms lands every onset exactly on its logged time
  const IMPACT_MARGIN_S = params.has("margin") ? +params.get("margin") : 0.015;
  // a cue must land within the step it answers (~350 ms at 170 spm): a step already this old
  // when the server sent it (server clock vs the sensor's UTC) gets no cue
  const MAX_STEP_AGE_MS = params.has("maxage") ? +params.get("maxage") : 300;
  const LEVELS = 6;          // impact tone levels (Van den Berghe 2021 used 6 loudness levels)
  const LEVEL_PCT = 5;       // one level per 5 % over the target
  const FRESH_MS = 3000;     // a device's metrics count towards the session while this fresh

  // -------------------------------------------------------------------- session state
  const S = (FF.session = {
    athlete: params.get("athlete") || null, session: params.get("session") || null,
    following: null, meta: {}, metrics: {}, metricsAt: {}, last: {}, alerts: [],
    sessionMetrics: null, sessionMetricsAt: 0,
    history: { cadence: [], impact: [] },  // feedback events, in time order
    state: null,                           // the retained feedback_state
    target: null, serverOffsetMs: 0,
  });

  function reset(athlete, session) {
    Object.assign(S, { following: { athlete, session }, meta: {}, metrics: {}, metricsAt: {},
      last: {}, alerts: [], history: { cadence: [], impact: [] }, state: null, target: null,
      sessionMetrics: null, sessionMetricsAt: 0 });
    cad.reset();
  }

  function addFeedback(ev) {
    const h = S.history[ev.channel];
    if (!h) return;
    if (h.length && h[h.length - 1].time_ns > ev.time_ns) {  // keep time order
      h.push(ev); h.sort((a, b) => a.time_ns - b.time_ns);
    } else h.push(ev);
    if (h.length > 500) h.splice(0, h.length - 500);
  }

  // the processor's state of a channel at session time t_ns (null: never configured)
  function channelAt(ch, t_ns) {
    const h = S.history[ch];
    for (let i = h.length - 1; i >= 0; i--) if (h[i].time_ns <= t_ns) return h[i];
    return null;  // before anything this page knows of the channel
  }
  const channelNow = (ch) => channelAt(ch, Infinity);
  FF.channelAt = channelAt;

  function targets() {
    // the newest of the retained state and the latest feedback events says what is in force
    let best = S.state ? { t: S.state.time_ns, cadence: S.state.cadence_target_spm,
      impactPct: S.state.impact_target_pct } : null;
    for (const ch of ["cadence", "impact"]) {
      const e = channelNow(ch);
      if (e && (!best || e.time_ns >= best.t))
        best = { t: e.time_ns, cadence: e.cadence_target_spm, impactPct: e.impact_target_pct };
    }
    const c = channelNow("cadence");
    return { cadence: best ? best.cadence : null, impactPct: best ? best.impactPct : null,
      bandPct: (c && c.band_pct) || 3 };
  }
  FF.targets = targets;

  function sideOf(device) {
    const m = S.meta[device];
    return (m && m.side) || (S.last[device] && S.last[device].side) || "none";
  }
  function impactTargetG(device) {
    const pct = targets().impactPct, m = S.metrics[device];
    return pct != null && m && m.impact_baseline_g ? (m.impact_baseline_g * pct) / 100 : null;
  }
  FF.impactTargetG = impactTargetG;

  // the session's cadence: the processor's own (session_metrics, all devices), else the mean
  // over devices of their latest (fresh) metrics
  function sessionCadence() {
    const now = nowMs(), xs = [], sm = S.sessionMetrics;
    if (sm && sm.cadence_spm != null && now - S.sessionMetricsAt < FRESH_MS) return sm.cadence_spm;
    for (const [d, m] of Object.entries(S.metrics))
      if (m.cadence_spm != null && now - S.metricsAt[d] < FRESH_MS) xs.push(m.cadence_spm);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  }
  FF.sessionCadence = sessionCadence;
  function cadenceState(v) {
    const t = targets();
    if (v == null || t.cadence == null) return "none";
    const band = (t.cadence * t.bandPct) / 100;
    return v < t.cadence - band ? "low" : v > t.cadence + band ? "high" : "in";
  }

  // metronome auto mode: counts consecutive steps below / within the band
  const cad = (FF.auto = {
    below: 0, back: 0, active: false, startStep: null,
    reset() { this.below = 0; this.back = 0; this.active = false; this.startStep = null; },
    step(ev) {
      const t = targets(), c = channelNow("cadence");
      if (ev.cadence_spm == null || t.cadence == null) return;
      const n = (c && c.auto_steps) || 8, lower = t.cadence * (1 - t.bandPct / 100);
      if (ev.cadence_spm < lower) { this.below++; this.back = 0; } else { this.back++; this.below = 0; }
      if (!this.active && this.below >= n) { this.active = true; this.startStep = stepRef(ev); }
      else if (this.active && this.back >= n) { this.active = false; this.startStep = null; }
    },
  });
  const stepRef = (ev, device) => ({ id: ev.id, device: device || ev.device, side: ev.side,
    time_ns: ev.time_ns, impact_g: ev.impact_g, cadence_spm: ev.cadence_spm });

  // -------------------------------------------------------------------- audio
  class AudioEngine {
    constructor() { this.ctx = null; }
    async ensure() {
      if (!this.ctx) {
        const ctx = (this.ctx = new AudioContext({ latencyHint: "interactive" }));
        this.master = ctx.createGain(); this.master.connect(ctx.destination);
        this.master.gain.value = FF.volume != null ? FF.volume : 1;
        this.gains = { metronome: ctx.createGain(), impact: ctx.createGain() };
        for (const g of Object.values(this.gains)) g.connect(this.master);
        this.buffers = makeBuffers(ctx.sampleRate);
        ctx.onstatechange = () => render.sound();
        FF.ctx = ctx;
      }
      if (this.ctx.state !== "running") {
        try { await Promise.race([this.ctx.resume(), new Promise((r) => setTimeout(r, 500))]); }
        catch (e) { /* needs a user gesture */ }
      }
      render.sound();
      return this.ctx.state;
    }
    setGain(kind, pct) {
      const g = this.gains && this.gains[kind];
      if (g) g.gain.setTargetAtTime(pct / 100, this.ctx.currentTime, 0.02);
    }
    wallMs(t) {  // AudioContext time -> UTC ms its sample reaches the output (fresh mapping:
      // the audio clock drifts against the system clock)
      const ts = this.ctx.getOutputTimestamp();
      if (ts.contextTime > 0 && ts.performanceTime > 0)
        return performance.timeOrigin + ts.performanceTime + (t - ts.contextTime) * 1000;
      const c = this.ctx;
      return nowMs() + (t - c.currentTime + c.baseLatency + (c.outputLatency || 0)) * 1000;
    }
    cue(kind, buf, t, extra, pan) {
      const c = this.ctx, src = c.createBufferSource();
      src.buffer = buf;
      let node = src;
      if (pan) { const p = c.createStereoPanner(); p.pan.value = pan; src.connect(p); node = p; }
      node.connect(this.gains[kind === "impact" ? "impact" : "metronome"]);
      src.start(t);
      const cue = Object.assign({ kind, t, lead: t - c.currentTime, scheduledAtMs: nowMs(),
        audibleMs: this.wallMs(t) }, extra);
      FF.cues.push(cue);
      if (FF.cues.length > 20000) FF.cues.splice(0, 10000);
      return cue;
    }
  }

  function makeBuffers(sr) {
    // metronome: a short woodblock-like click (two decaying partials)
    const click = new AudioBuffer({ length: Math.round(sr * 0.03), sampleRate: sr });
    const d = click.getChannelData(0);
    for (let i = 0; i < d.length; i++) {
      const x = i / sr, env = Math.exp(-x / 0.006);
      d[i] = 0.9 * env * (0.6 * Math.cos(2 * Math.PI * 1900 * x) + 0.4 * Math.cos(2 * Math.PI * 2700 * x));
    }
    // impact: a pitched tone; each level a major third higher and louder
    const tones = [];
    for (let L = 1; L <= LEVELS; L++) {
      const f = 440 * Math.pow(2, (L - 1) / 3), g = 0.3 + (0.7 * (L - 1)) / (LEVELS - 1);
      const b = new AudioBuffer({ length: Math.round(sr * 0.09), sampleRate: sr });
      const a = b.getChannelData(0), A = Math.round(sr * 0.004), R = Math.round(sr * 0.03);
      for (let i = 0; i < a.length; i++) {
        const env = i < A ? (i + 1) / A : i > a.length - R ? (a.length - i) / R : 1;
        a[i] = g * env * Math.sin((2 * Math.PI * f * i) / sr);
      }
      tones.push(b);
    }
    return { click, tones };
  }

  const engine = (FF.engine = new AudioEngine());
  FF.soundOn = params.get("sound") !== "0" && document.documentElement.dataset.sound !== "off";
  // cues are scheduled (and logged) only while the AudioContext really runs: a suspended one
  // freezes currentTime, and the lookahead would log beats that never sound
  const audible = () => !!(engine.ctx && FF.soundOn && engine.ctx.state === "running");
  FF.audible = audible;

  class Metronome {
    constructor() { this.timer = null; this.spm = null; this.run = 0; this.n = 0; }
    start(spm, startStep) {
      if (this.timer !== null) return this.rate(spm);
      this.spm = spm; this.t0 = engine.ctx.currentTime + 0.05; this.k = 0; this.run++;
      this.startStep = startStep;
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.tick();
    }
    rate(spm) {  // a new target: re-anchor at the next beat not yet scheduled (phase kept)
      if (spm === this.spm) return;
      this.t0 += (this.k * 60) / this.spm; this.k = 0; this.spm = spm;
    }
    stop() { if (this.timer !== null) clearInterval(this.timer); this.timer = null; }
    get running() { return this.timer !== null; }
    tick() {
      const ctx = engine.ctx, now = ctx.currentTime, horizon = now + LOOKAHEAD_S;
      for (;;) {
        const t = this.t0 + (this.k * 60) / this.spm;
        if (t >= horizon) break;
        if (t < now) FF.missed.push({ beat: this.n, t, now });  // too late: never play late
        else engine.cue("metronome", engine.buffers.click, t, { beat: this.n, run: this.run,
          k: this.k, spm: this.spm, t0: this.t0, step: this.startStep });
        this.k++; this.n++;
      }
    }
  }
  const metronome = (FF.metronome = new Metronome());

  // is the metronome to play now, and at what rate? (checked on every message and tick)
  function metronomeWanted() {
    const c = channelNow("cadence"), t = targets();
    if (!audible() || !c || !c.feedback_on || t.cadence == null) return null;
    const mode = c.metronome || "auto";
    if (mode === "off") return null;
    if (mode === "auto" || c.mode === "bandwidth") return cad.active ? t.cadence : null;
    return t.cadence;
  }
  function updateMetronome() {
    const spm = metronomeWanted();
    if (spm == null) metronome.stop();
    else metronome.start(spm, cad.startStep);
    const c = channelNow("cadence"), i = channelNow("impact");
    if (engine.ctx) {
      engine.setGain("metronome", c && c.volume_pct != null ? c.volume_pct : 80);
      engine.setGain("impact", i && i.volume_pct != null ? i.volume_pct : 80);
    }
  }
  setInterval(updateMetronome, 250);

  function impactCue(ev, device, age) {
    const target = impactTargetG(device);
    const ch = channelAt("impact", ev.time_ns);
    if (!audible() || target == null || !ch || !ch.feedback_on || ev.impact_g <= target) return;
    if (age > MAX_STEP_AGE_MS) { FF.stale.push({ id: ev.id, device, time_ns: ev.time_ns, age }); return; }
    const overPct = (100 * (ev.impact_g - target)) / target;
    const level = Math.min(LEVELS, 1 + Math.floor(overPct / LEVEL_PCT));
    const side = sideOf(device);
    engine.cue("impact", engine.buffers.tones[level - 1], engine.ctx.currentTime + IMPACT_MARGIN_S,
      { level, overPct, targetG: target, step: stepRef(ev, device) },
      side === "left" ? -0.5 : side === "right" ? 0.5 : 0);
  }

  // -------------------------------------------------------------------- messages
  function onMessage(m, recvMs) {
    FF.messages++;
    if (m.kind === "follow") { reset(m.athlete, m.session); S.serverOffsetMs = m.server_ns / 1e6 - recvMs; render.follow(); return; }
    if (m.kind === "waiting") { render.follow(); return; }
    if (m.kind === "snapshot") {
      Object.assign(S, { meta: m.meta || {}, metrics: {}, last: m.step || {}, state: m.feedback_state,
        alerts: m.alerts || [], target: m.target });
      for (const [d, ev] of Object.entries(m.metrics || {})) { S.metrics[d] = ev; S.metricsAt[d] = recvMs; }
      if (m.session_metrics) { S.sessionMetrics = m.session_metrics; S.sessionMetricsAt = recvMs; }
      for (const ch of ["cadence", "impact"]) if (S.state && S.state[ch]) addFeedback(S.state[ch]);
      updateMetronome(); render.controls(); return;
    }
    const ev = m.event, d = m.device;
    switch (m.kind) {
      case "step":
        S.last[d] = ev;
        ev.id = m.step_id;
        FF.steps.push({ id: m.step_id, device: d, side: ev.side, time_ns: ev.time_ns, impact_g: ev.impact_g,
          cadence_spm: ev.cadence_spm, recvMs, sendNs: m.send_ns, recvNs: m.recv_ns, age: m.age_ms });
        if (FF.steps.length > 20000) FF.steps.splice(0, 10000);
        cad.step(Object.assign({ device: d }, ev));
        Object.assign(FF.steps[FF.steps.length - 1], { autoBelow: cad.below, autoBack: cad.back,
          autoActive: cad.active });
        impactCue(ev, d, m.age_ms);
        updateMetronome();
        break;
      case "metrics": S.metrics[d] = ev; S.metricsAt[d] = recvMs; break;
      case "session_metrics": S.sessionMetrics = ev; S.sessionMetricsAt = recvMs; break;
      case "meta": S.meta[d] = ev; break;
      case "feedback": addFeedback(ev); updateMetronome(); render.controls(); break;
      case "feedback_state": S.state = ev; updateMetronome(); render.controls(); break;
      case "alerts": S.alerts = ev; break;
      case "control": if (ev.action === "set_target") S.target = ev; break;
      default: break;
    }
  }

  let source = null;
  function connect() {
    if (source) source.close();
    const q = new URLSearchParams();
    if (S.athlete) q.set("athlete", S.athlete);
    if (S.session) q.set("session", S.session);
    source = new EventSource("/events?" + q);  // reconnects by itself
    source.onopen = () => { FF.connected = true; render.follow(); };
    source.onerror = () => { FF.connected = false; render.follow(); };
    source.onmessage = (e) => { const at = nowMs(); onMessage(JSON.parse(e.data), at); };
  }
  FF.follow = (athlete, session) => { S.athlete = athlete || null; S.session = session || null; reset(null, null); S.following = null; connect(); };

  FF.control = async (command) => {
    const f = S.following;
    if (!f || !f.session) throw new Error("no session yet: start one (footfall simulate, ingest)");
    const r = await fetch("/api/control", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ athlete: f.athlete, session: f.session, command }) });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  };
  FF.enableSound = async () => { FF.soundOn = true; const st = await engine.ensure(); updateMetronome(); return st; };
  FF.disableSound = () => { FF.soundOn = false; metronome.stop(); render.sound(); };
  FF.setVolume = (v) => { FF.volume = v; if (engine.master) engine.master.gain.value = v; };

  // -------------------------------------------------------------------- rendering
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => document.querySelectorAll(sel);
  const render = (FF.render = { follow() {}, controls() {}, sound() {} });
  render.sound = () => {
    const b = $("#sound"); if (!b) return;
    const st = engine.ctx ? engine.ctx.state : "suspended";
    b.textContent = st === "running" && FF.soundOn ? "sound on" : "tap for sound";
    b.dataset.state = FF.soundOn ? st : "off";
  };
  const fmt1 = (x) => (x == null ? "—" : x.toFixed(1));
  const modeText = (e) => {
    if (!e) return "not set";
    if (e.probe) return "probe";
    let s = e.mode;
    if (e.mode === "faded") s += ` ${e.feedback_on ? "on" : "off"} (${Math.round(e.fraction_pct)} %)`;
    return s;
  };
  // the runner's screen is feedback too: it follows the processor's gate (nothing before the
  // therapist sets a mode: the baseline is run without feedback); the therapist sees it all
  const GATED = document.body.classList.contains("runner-body");
  const shows = (e) => !GATED || !!(e && e.feedback_on);
  FF.describeModes = () => {
    const c = channelNow("cadence"), i = channelNow("impact");
    if ((c && c.probe) || (i && i.probe)) {
      const end = S.state && S.state.probe_end_ns;
      const left = end ? Math.max(0, end / 1e6 - (nowMs() + S.serverOffsetMs)) / 1000 : null;
      return "retention probe: no feedback" + (left != null ? ` (${Math.floor(left / 60)}:${String(Math.floor(left % 60)).padStart(2, "0")} left)` : "");
    }
    if (!c && !i) return "no feedback set yet";
    return `cadence: ${modeText(c)} · impact: ${modeText(i)}`;
  };

  function drawLegs(showImp) {
    const bySide = {};
    for (const [d, ev] of Object.entries(S.last)) {
      const side = sideOf(d) === "right" ? "right" : "left";
      if (!bySide[side] || ev.time_ns > bySide[side].ev.time_ns) bySide[side] = { d, ev };
    }
    for (const side of ["left", "right"]) {
      const leg = $(`[data-testid=impact] [data-side=${side}]`); if (!leg) continue;
      const x = bySide[side], v = x ? x.ev.impact_g : null, tgt = x ? impactTargetG(x.d) : null;
      const over = v != null && tgt != null && v > tgt;
      const bandOnly = GATED && channelNow("impact") && channelNow("impact").mode === "bandwidth";
      const visible = showImp && v != null && (!bandOnly || over);
      leg.dataset.state = !visible ? "hidden" : tgt == null ? "none" : over ? "over" : "in";
      leg.dataset.device = x ? x.d : "";
      const set = (cls, text) => { const el = leg.querySelector(cls); if (el) el.textContent = text; };
      set(".value", visible ? v.toFixed(1) : "—");
      set(".flag", !visible || tgt == null ? "" : over ? "▲ OVER" : "● OK");
      set(".leg-target", tgt != null ? `target ${tgt.toFixed(1)}` : "");
      const scale = tgt ? tgt * 1.6 : 20;
      const fill = leg.querySelector(".fill");
      if (fill) fill.style.height = `${visible ? Math.min(100, (100 * v) / scale) : 0}%`;
      const line = leg.querySelector(".target-line");
      if (line) line.style.bottom = tgt ? `${100 / 1.6}%` : "-10%";
    }
  }

  // paint once (tests call it to read the screen and the state it came from together)
  function paint() {
    const t = targets(), c = channelNow("cadence"), i = channelNow("impact");
    const v = sessionCadence(), st = cadenceState(v);
    const showCad = shows(c) && (!GATED || c.mode !== "bandwidth" || (st !== "in" && st !== "none"));
    const el = $("[data-testid=cadence]");
    if (el) {
      el.textContent = v == null || !showCad ? "—" : String(Math.round(v));
      const box = el.closest(".cadence");
      if (box) box.dataset.state = !showCad ? "hidden" : st;
      const word = box && box.querySelector(".state");
      if (word) word.textContent = !showCad ? "" : { in: "● IN RANGE", low: "▼ TOO LOW", high: "▲ TOO HIGH", none: "" }[st];
    }
    const tg = $("[data-testid=cadence-target]");
    if (tg) tg.textContent = t.cadence != null ? `${Math.round(t.cadence)} ± ${Math.round((t.cadence * t.bandPct) / 100)}` : "—";
    const it = $("[data-testid=impact-target]");
    if (it) {
      const legs = Object.keys(S.last).map((d) => [sideOf(d), impactTargetG(d)]).filter((x) => x[1] != null)
        .sort().map(([s, g]) => `${s === "right" ? "R" : s === "left" ? "L" : ""} ${g.toFixed(1)} g`.trim());
      it.querySelector(".pct").textContent = t.impactPct == null ? "—" : `${Math.round(t.impactPct)} %`;
      it.querySelector(".g").textContent = t.impactPct == null ? "" : legs.join(" · ");
    }
    const base = $("#baseline-info");
    if (base) {
      const parts = [];
      for (const [d, m] of Object.entries(S.metrics)) {
        if (m.cadence_baseline_spm != null && !parts.length) parts.push(`${Math.round(m.cadence_baseline_spm)} spm`);
        if (m.impact_baseline_g != null) parts.push(`${sideOf(d)} ${m.impact_baseline_g.toFixed(1)} g`);
      }
      base.textContent = parts.length ? `baseline ${parts.join(" · ")}` : "baseline not set yet";
    }
    drawLegs(shows(i));
    const fm = $("[data-testid=feedback-mode]");
    if (fm) fm.textContent = FF.describeModes();
    const who = $("#who");
    if (who) who.textContent = S.following ? `${S.following.athlete} · ${S.following.session}` : (FF.connected ? "waiting for a live session…" : "connecting…");
  }
  FF.paint = paint;
  const frame = () => { paint(); requestAnimationFrame(frame); };

  document.addEventListener("DOMContentLoaded", () => {
    connect();
    requestAnimationFrame(frame);
    if (FF.soundOn) FF.enableSound();
    const b = $("#sound");
    if (b) b.addEventListener("click", () => FF.enableSound());
  });
})();
