// footfall coach, therapist view: the forms become control commands (POST /api/control →
// the session's control topic); what the processor then says is shown by coach.js.
(function () {
  "use strict";
  const FF = window.footfall;
  const $ = (sel) => document.querySelector(sel);
  const num = (el) => (el.value === "" ? null : +el.value);

  function say(text, bad) { const s = $("#status"); s.textContent = text; s.dataset.bad = bad ? "1" : ""; }
  async function send(command, what) {
    try { await FF.control(command); say(`${what}: sent`); }
    catch (e) { say(`${what}: ${e.message}`, true); }
  }
  FF.send = send;

  function channelCommand(box) {
    const ch = box.dataset.channel, get = (n) => box.querySelector(`[name=${n}]`);
    const cmd = { action: "set_feedback", channel: ch, mode: get("mode").value, volume_pct: num(get("volume_pct")) };
    if (ch === "cadence") Object.assign(cmd, { band_pct: num(get("band_pct")), metronome: get("metronome").value, auto_steps: num(get("auto_steps")) });
    if (cmd.mode === "faded") {
      cmd.schedule = get("schedule").value;
      const names = cmd.schedule === "fade" ? ["fade_from_pct", "fade_to_pct", "fade_min", "cycle_s"] : ["on_min", "off_min"];
      for (const n of names) cmd[n] = num(get(n));
    }
    return cmd;
  }
  FF.channelCommand = channelCommand;

  function showFaded(box) {
    const faded = box.querySelector(".faded"), mode = box.querySelector("[name=mode]").value;
    if (!faded.firstChild) faded.appendChild($("#faded-fields").content.cloneNode(true));
    faded.hidden = mode !== "faded";
    const schedule = faded.querySelector("[name=schedule]").value;
    faded.querySelector(".fade").hidden = schedule !== "fade";
    faded.querySelector(".blocks").hidden = schedule !== "blocks";
  }

  async function refreshSessions() {
    try {
      const r = await fetch("/api/sessions"), body = await r.json(), pick = $("#session-pick");
      const want = pick.value, known = new Set([...pick.options].map((o) => o.value));
      for (const s of body.sessions) {
        const v = `${s.athlete}/${s.session}`;
        if (!known.has(v)) { const o = new Option(`${s.athlete} · ${s.session}${s.live ? " (live)" : ""}`, v); pick.add(o); }
      }
      pick.value = want;
    } catch (e) { /* the server is restarting: try again */ }
  }

  // the forms show what the processor has in force (a second page learns it from the snapshot)
  FF.render.controls = () => {
    for (const box of document.querySelectorAll(".channel")) {
      const e = FF.channelAt(box.dataset.channel, Infinity);
      if (!e || box.contains(document.activeElement)) continue;
      for (const [n, v] of Object.entries(e)) {
        const el = box.querySelector(`[name=${n}]`);
        if (el && v != null) el.value = v;
      }
      showFaded(box);
    }
    const t = FF.targets();
    if (t.impactPct != null && document.activeElement !== $("#imp-pct")) $("#imp-pct").value = t.impactPct;
  };

  document.addEventListener("DOMContentLoaded", () => {
    for (const box of document.querySelectorAll(".channel")) {
      showFaded(box);
      box.addEventListener("change", () => showFaded(box));
      box.querySelector(".apply").addEventListener("click", () => send(channelCommand(box), `${box.dataset.channel} feedback`));
    }
    $("#baseline").onclick = () => send({ action: "mark_baseline" }, "baseline");
    $("#cad-plus").onclick = () => send({ action: "set_target", increase_pct: num($("#cad-pct")) }, "cadence target");
    $("#cad-set").onclick = () => send({ action: "set_target", cadence_spm: num($("#cad-spm")) }, "cadence target");
    $("#cad-none").onclick = () => send({ action: "set_target" }, "cadence target");
    $("#imp-set").onclick = () => send({ action: "set_impact_target", impact_pct: num($("#imp-pct")) }, "impact target");
    $("#imp-none").onclick = () => send({ action: "set_impact_target" }, "impact target");
    $("#probe-start").onclick = () => send({ action: "probe", probe_min: num($("#probe-min")) }, "probe");
    $("#probe-stop").onclick = () => send({ action: "probe", probe_min: 0 }, "probe");
    $("#note-add").onclick = () => {
      const cmd = { action: "note" }, pain = $("#pain").value, shoes = $("#shoes").value.trim(),
        belt = num($("#belt")), text = $("#note-text").value.trim();
      if (pain !== "") cmd.pain_score = +pain;
      if (shoes) cmd.shoes = shoes;
      if (belt != null) cmd.belt_speed_kmh = belt;
      if (text) cmd.text = text;
      send(cmd, "note").then(() => { $("#note-text").value = ""; });
    };
    $("#sound-here").onchange = (e) => (e.target.checked ? FF.enableSound() : FF.disableSound());
    $("#session-pick").onchange = (e) => {
      const [athlete, session] = e.target.value ? e.target.value.split("/") : [null, null];
      FF.follow(athlete, session);
      $("#runner-link").href = athlete ? `/runner?athlete=${encodeURIComponent(athlete)}` : "/runner";
    };
    refreshSessions(); setInterval(refreshSessions, 3000);
  });
})();
