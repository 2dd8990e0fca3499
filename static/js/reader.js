// The reading page: one case at a time, autosave of every answer, keyboard shortcuts, resume, prefetch.
//
// Saves go through one queue (in order, one request at a time). An answer that could not be sent (network
// down) stays in localStorage and is retried, also after a reload, so nothing a reader gave is lost.
(function () {
  "use strict";

  const boot = JSON.parse(document.getElementById("rs-bootstrap").textContent);
  const study = boot.study;
  const urls = boot.urls;
  let current = boot.case;
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const $ = (id) => document.getElementById(id);
  const form = $("rs-form");
  const statusEl = $("rs-status");
  const fieldsets = [...form.querySelectorAll(".rs-q")];
  let activeIndex = 0;
  // Per user and study (a shared reading-room computer has many readers); cleared at logout.
  // An admin's preview has no reader: nothing is stored or sent.
  const reader = boot.reader || { pending_key: null, assignment: null };
  const PENDING_KEY = reader.pending_key;
  const ASSIGNMENT = reader.assignment;

  // --- viewer ---------------------------------------------------------------------------------------
  // Window/level presets in display-pixel units (the images are 8-bit renderings): which grey range to stretch.
  const PRESETS = { lung: [160, 96], mediastinum: [120, 175], bone: [80, 210], default: [255, 127.5] };
  // By default each case starts at the default window (a window set for one image must not darken the next,
  // which matters where readers rate image quality); a study can keep it across cases and reloads instead.
  const KEEP_WINDOW = !!study.keep_window;
  const VIEW_KEY = `rs-view-${study.id}`;  // W/L and invert, kept across cases and reloads (display only)
  const kept = $("rs-kept");
  let savedView = "";
  const readout = $("rs-readout");
  const viewer = new window.CxrViewer($("rs-stage"), $("rs-canvas"), {
    onChange(s) {
      // Deep (DICOM) images read out in the file's own grey values.
      const unit = s.depth ? s.depth / 255 : 1;
      readout.textContent = `${Math.round(s.zoom * 100)}%  ·  W ${Math.round(s.width * unit)}  L ${Math.round(s.level * unit)}` +
        (s.inverted ? "  ·  inverted" : "");
      document.querySelector('[data-tool="invert"]').setAttribute("aria-pressed", String(s.inverted));
      document.querySelector('[data-tool="wl"]').setAttribute("aria-pressed", String(s.wlMode));
      document.querySelectorAll("[data-preset]").forEach((b) => {
        const p = b.dataset.preset === "file" ? viewer.fileWindow : PRESETS[b.dataset.preset];
        b.setAttribute("aria-pressed", String(!!p && Math.abs(p[0] - s.width) < 0.5 && Math.abs(p[1] - s.level) < 0.5));
      });
      const isDefault = Math.abs(s.width - PRESETS.default[0]) < 0.5 && Math.abs(s.level - PRESETS.default[1]) < 0.5 &&
        !s.inverted;
      kept.hidden = !KEEP_WINDOW || isDefault;
      const view = JSON.stringify({ width: s.width, level: s.level, inverted: s.inverted });
      if (KEEP_WINDOW && view !== savedView) {
        savedView = view;
        try { localStorage.setItem(VIEW_KEY, view); } catch (err) { /* private mode: keeps it for this page */ }
      }
    },
  });
  if (KEEP_WINDOW) try {
    const v = JSON.parse(localStorage.getItem(VIEW_KEY));
    if (v && isFinite(v.width) && isFinite(v.level)) viewer.setWindow(v.width, v.level, v.inverted);
  } catch (err) { /* nothing stored, or unreadable: the default window */ }
  const preset = (name) => {
    const p = name === "file" ? viewer.fileWindow : PRESETS[name];
    if (p) viewer.setWindow(p[0], p[1]);
  };
  document.querySelectorAll("[data-preset]").forEach((b) => {
    b.addEventListener("click", () => { preset(b.dataset.preset); b.blur(); });
  });
  const tools = {
    fit: () => viewer.fit(),
    actual: () => viewer.actualSize(),
    "zoom-in": () => viewer.zoom(1.25),
    "zoom-out": () => viewer.zoom(0.8),
    wl: () => { viewer.wlMode = !viewer.wlMode; viewer.redraw(); },
    invert: () => viewer.invert(),
    reset: () => viewer.reset(),
    fullscreen: () => viewer.fullscreen($("rs-viewer")),
    // Measuring aids (reader_tools.js): they take no key of their own beyond D and G, so answering goes on.
    ruler: () => { viewer.setRulerMode(!viewer.rulerMode); pressed("ruler", viewer.rulerMode); },
    magnifier: () => { const on = !viewer.loupe || !viewer.loupe.on; viewer.setMagnifier(on, $("rs-loupe")); pressed("magnifier", on); },
  };
  function pressed(tool, on) { document.querySelector(`[data-tool="${tool}"]`).setAttribute("aria-pressed", String(on)); }
  const measure = $("rs-measure");
  viewer.onMeasure = (text) => { if (measure.textContent !== text) measure.textContent = text; };
  document.querySelectorAll("[data-tool]").forEach((b) => {
    b.addEventListener("click", () => { tools[b.dataset.tool](); b.blur(); });
  });

  // --- active time: page visible and some input in the last minute ----------------------------------
  let activeMs = 0;
  let lastInput = Date.now();
  let lastTick = Date.now();
  ["pointermove", "pointerdown", "keydown", "wheel", "touchstart"].forEach((ev) => {
    window.addEventListener(ev, () => { lastInput = Date.now(); }, { passive: true });
  });
  // Accrue up to now; called by the ticker AND right before every save, so the time since the last tick
  // is never lost (a case answered within a second of loading would otherwise report 0 s).
  function accrueActive() {
    const now = Date.now();
    if (document.visibilityState === "visible" && now - lastInput < 60000) activeMs += now - lastTick;
    lastTick = now;
  }
  setInterval(accrueActive, 1000);

  // --- status line ----------------------------------------------------------------------------------
  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = `rs-status${kind ? ` is-${kind}` : ""}`;
  }

  // --- the save queue -------------------------------------------------------------------------------
  let pending = loadPending();   // {caseToken: {key: value}}
  let queue = Promise.resolve();
  let retryTimer = null;

  function loadPending() {
    if (!PENDING_KEY) return {};
    try { return JSON.parse(localStorage.getItem(PENDING_KEY)) || {}; } catch (err) { return {}; }
  }
  function storePending() {
    try {
      if (!PENDING_KEY) return;
      if (Object.keys(pending).length) localStorage.setItem(PENDING_KEY, JSON.stringify(pending));
      else localStorage.removeItem(PENDING_KEY);
    } catch (err) { /* private mode: the in-memory queue still retries */ }
  }

  async function post(body) {
    const response = await fetch(urls.submit, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const err = new Error(data.detail || `Error ${response.status}`);
      err.data = data;
      err.status = response.status;
      throw err;
    }
    return data;
  }

  async function sendAnswers(token, answers, complete) {
    accrueActive();
    const sent = activeMs;
    const data = await post({
      case: token, assignment: ASSIGNMENT, answers, complete: !!complete, active_ms: Math.round(sent),
    });
    activeMs = Math.max(0, activeMs - sent);
    return data;
  }

  // Send what is queued for one case; errors are handled here (the queue itself never rejects).
  async function flushCase(token) {
    // A copy: answers given while this request is in flight go into pending[token] and must stay queued.
    const answers = { ...pending[token] };
    if (!Object.keys(answers).length) { delete pending[token]; storePending(); return; }
    setStatus("Saving…", "saving");
    try {
      await sendAnswers(token, answers, false);
    } catch (err) {
      if (refused(err)) {
        // The server read the answers and refused them (bad value, closed study): retrying cannot help.
        delete pending[token]; storePending();
        showServerErrors(err);
      } else if (signedOut(err)) {
        // The session expired: keep the answers here; they are sent after the reader signs in again.
        setStatus("Not saved yet — you are signed out. Sign in again; your answers are kept on this device.", "error");
      } else {
        scheduleRetry(err);
      }
      return;
    }
    // Drop only what was sent; anything newer stays queued.
    Object.keys(answers).forEach((k) => {
      if (pending[token] && pending[token][k] === answers[k]) delete pending[token][k];
    });
    if (pending[token] && !Object.keys(pending[token]).length) delete pending[token];
    storePending();
    retryDelay = RETRY_FIRST;
    setStatus("All answers saved", "ok");
    clearErrors();
  }

  // Flush every queued answer (this case and any left over from before a reload or a lost connection).
  function flush() {
    if (boot.preview) return queue;  // an admin's preview never saves anything
    queue = queue.then(async () => {
      for (const token of Object.keys(pending)) await flushCase(token);
    });
    return queue;
  }

  // 400/409: the server validated the answers and said no. 401/403 (signed out, stale CSRF token) and 5xx say
  // nothing about the answers, so those stay queued: dropping them would lose what the reader gave.
  const refused = (err) => err.status === 400 || err.status === 409;
  const signedOut = (err) => err.status === 401 || err.status === 403;

  // Server errors and lost connections: retry with exponential back-off (3 s, 6 s, ... at most 60 s), saying
  // when the next try is, so a broken server is not hammered and the reader knows their answers wait here.
  const RETRY_FIRST = 3000;
  const RETRY_MAX = 60000;
  let retryDelay = RETRY_FIRST;
  let retryAt = 0;
  function scheduleRetry(err) {
    const why = err && err.status >= 500 ? `the server had a problem (${err.status})` : "connection lost";
    // A retry already waiting (a second failure meanwhile, e.g. Save & next offline) keeps its time, but the
    // status must still say so: it would otherwise stay "Saving…" until that retry.
    if (!retryTimer) {
      retryAt = Date.now() + retryDelay;
      retryTimer = setTimeout(() => { retryTimer = null; flush(); }, retryDelay);
      retryDelay = Math.min(RETRY_MAX, retryDelay * 2);
    }
    setStatus(`Not saved yet — ${why}; your answers are kept on this device. Trying again in ` +
      `${Math.max(1, Math.round((retryAt - Date.now()) / 1000))} s.`, "error");
  }

  function queueAnswer(key, value) {
    pending[current.case.id] = pending[current.case.id] || {};
    pending[current.case.id][key] = value;
    storePending();
    return flush();
  }

  // --- the form -------------------------------------------------------------------------------------
  const UNABLE = "unable_to_assess";  // where the study allows it: U on the active question
  function fieldValue(fs) {
    const kind = fs.dataset.kind;
    if (kind === "text") return fs.querySelector("textarea").value;
    if (kind === "labels") return labelsValue(fs);
    const checked = fs.querySelector("input:checked");
    if (!checked) return null;
    if (checked.value === UNABLE) return UNABLE;  // an answer, not a rating
    return kind === "likert" ? parseInt(checked.value, 10) : checked.value;
  }

  function setFieldValue(fs, value) {
    if (fs.dataset.kind === "text") { fs.querySelector("textarea").value = value == null ? "" : value; return; }
    if (fs.dataset.kind === "labels") { setLabelsValue(fs, value); return; }
    fs.querySelectorAll("input").forEach((input) => { input.checked = value != null && String(value) === input.value; });
    fs.classList.toggle("is-answered", value != null && value !== "");
  }

  // --- "which shown label do you disagree with" (kind "labels"): shown after a "no" to its yes/no question ---
  // One checkbox per label shown with the case, plus "a finding is missing"; the value is
  // {labels: [...], missing: bool} (null when nothing is ticked). The server accepts only shown labels.
  // "A finding is missing" is the last checkbox, marked data-missing (its value is no label's name).
  function labelsValue(fs) {
    const ticked = [...fs.querySelectorAll("input:checked")];
    if (!ticked.length) return null;
    return { labels: ticked.filter((i) => !i.dataset.missing).map((i) => i.value), missing: ticked.some((i) => !!i.dataset.missing) };
  }
  function setLabelsValue(fs, value) {
    const labels = (value && value.labels) || [];
    fs.querySelectorAll("input").forEach((input) => {
      input.checked = input.dataset.missing ? !!(value && value.missing) : labels.includes(input.value);
    });
    fs.classList.toggle("is-answered", !!fs.querySelector("input:checked"));
  }
  function buildLabels(fs, shown) {
    const box = fs.querySelector(".rs-disagree");
    box.textContent = "";
    [...shown, null].forEach((label, k) => {
      const opt = document.createElement("label");
      opt.className = "rs-opt";
      const input = document.createElement("input");
      input.type = "checkbox"; input.value = label === null ? "" : label;
      if (label === null) input.dataset.missing = "1";
      const key = document.createElement("span");
      key.className = "rs-key"; key.textContent = String(k + 1);
      const text = document.createElement("span");
      text.className = "rs-opt-text"; text.textContent = label === null ? "A finding is missing" : label;
      opt.append(input, key, text);
      box.appendChild(opt);
    });
  }
  // Show each labels question only while its yes/no question says "no"; leaving "no" clears its ticks
  // (sent with the yes/no answer, so the server never sees labels next to a "yes").
  function syncDisagree() {
    fieldsets.filter((fs) => fs.dataset.kind === "labels").forEach((fs) => {
      const agree = fieldsets.find((f) => f.dataset.key === fs.dataset.after);
      const show = !!agree && fieldValue(agree) === "no";
      if (!show && labelsValue(fs) && current.editable) answer(fs, { labels: [], missing: false });
      fs.hidden = !show;
    });
  }
  function toggleLabel(fs, n) {
    const inputs = fs.querySelectorAll("input");
    if (n > inputs.length) return;
    inputs[n - 1].checked = !inputs[n - 1].checked;
    answer(fs, labelsValue(fs) || { labels: [], missing: false });
  }

  function clearErrors() {
    fieldsets.forEach((fs) => { fs.classList.remove("has-error"); fs.querySelector(".rs-qerror").textContent = ""; });
  }

  function showServerErrors(err) {
    const errors = (err.data && err.data.errors) || {};
    let shown = false;
    fieldsets.forEach((fs) => {
      const msg = errors[fs.dataset.key];
      if (msg) { fs.classList.add("has-error"); fs.querySelector(".rs-qerror").textContent = msg; shown = true; }
    });
    setStatus(err.message || "Not saved.", "error");
    return shown;
  }

  function setActive(i, step) {
    i = Math.max(0, Math.min(fieldsets.length - 1, i));
    // Arrow keys step over hidden questions (a labels question before its "no").
    while (step && fieldsets[i].hidden && i + step >= 0 && i + step < fieldsets.length) i += step;
    if (fieldsets[i].hidden) return;
    activeIndex = i;
    fieldsets.forEach((fs, k) => fs.classList.toggle("is-active", k === activeIndex));
  }

  // Questions Enter-flow answering moves to: not free text, and not the optional labels picker (so "n 3 3"
  // still rates the next questions; ↓ or a click reaches the picker).
  const flowKind = (fs) => fs.dataset.kind !== "text" && fs.dataset.kind !== "labels" && !fs.hidden;

  function advanceActive() {
    // Next unanswered choice-type question after the current one; else stay.
    for (let step = 1; step <= fieldsets.length; step++) {
      const k = (activeIndex + step) % fieldsets.length;
      const fs = fieldsets[k];
      if (flowKind(fs) && fieldValue(fs) == null) { setActive(k); return; }
    }
    setActive(Math.min(activeIndex + 1, fieldsets.length - 1), 1);
  }

  function answer(fs, value) {
    if (!current.editable) return;
    setFieldValue(fs, value);
    fs.classList.remove("has-error");
    fs.querySelector(".rs-qerror").textContent = "";
    queueAnswer(fs.dataset.key, value);
    if (fs.dataset.kind === "yes_no") syncDisagree();
  }

  fieldsets.forEach((fs, k) => {
    fs.addEventListener("change", (e) => {
      if (e.target.type === "radio") {
        setActive(k);
        answer(fs, fieldValue(fs));
        advanceActive();
      } else if (e.target.type === "checkbox") {
        setActive(k);
        answer(fs, labelsValue(fs) || { labels: [], missing: false });
        e.target.blur();  // the focus goes back to the case: Enter stays Save & next
        advanceActive();  // and the number keys rate the next question again (↑ comes back to the picker)
      }
    });
    fs.addEventListener("pointerdown", () => setActive(k));
    const ta = fs.querySelector("textarea");
    if (ta) {
      let timer = null;
      ta.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => answer(fs, ta.value), 700);
      });
      ta.addEventListener("blur", () => {
        clearTimeout(timer);
        if (current.answers[fs.dataset.key] !== ta.value) { answer(fs, ta.value); current.answers[fs.dataset.key] = ta.value; }
      });
      ta.addEventListener("focus", () => setActive(k));
    }
  });

  // --- showing a case -------------------------------------------------------------------------------
  function renderStatus(payload) {
    if (boot.preview) setStatus("Preview: answers are not saved.", "info");
    else if (!payload.editable) setStatus(study.status !== "open" ? "This study is closed." : "Finished case — answers are locked.", "info");
    else if (payload.completed) setStatus("Finished case — you can still change answers.", "ok");
    else setStatus("", "");
  }

  function render(payload) {
    current = payload;
    $("rs-pos").textContent = payload.position;
    $("rs-total").textContent = payload.total;
    $("rs-done").textContent = payload.done;
    $("rs-bar").style.width = `${100 * payload.done / payload.total}%`;
    const labels = $("rs-labels");
    labels.textContent = "";
    (payload.case.shown_labels.length ? payload.case.shown_labels : ["No label"]).forEach((l) => {
      const chip = document.createElement("span");
      chip.className = "rs-chip";
      chip.textContent = l;
      labels.appendChild(chip);
    });
    const queued = pending[payload.case.id] || {};
    fieldsets.forEach((fs) => {
      const key = fs.dataset.key;
      if (fs.dataset.kind === "labels") buildLabels(fs, payload.case.shown_labels);
      const v = key in queued ? queued[key] : payload.answers[key];
      setFieldValue(fs, v == null ? null : v);
      fs.querySelectorAll("input, textarea").forEach((el) => { el.disabled = !payload.editable; });
    });
    syncDisagree();
    clearErrors();
    $("rs-prev").disabled = !payload.prev;
    $("rs-next").disabled = !payload.next;
    $("rs-save").disabled = false;
    $("rs-save").firstChild.textContent = boot.preview ? "Next image " :
      payload.position === payload.total ? "Save & finish " : "Save & next ";
    document.body.classList.toggle("rs-locked", !payload.editable);
    renderStatus(payload);
    setActive(0);
    advanceActiveFromStart();
    $("rs-loading").hidden = false;
    const fileButton = document.querySelector('[data-preset="file"]');
    if (fileButton) fileButton.hidden = !(payload.case.depth && payload.case.depth.from_file);
    if (!KEEP_WINDOW) viewer.setWindow(PRESETS.default[0], PRESETS.default[1], false);
    viewer.spacing = payload.case.pixel_spacing || null;  // mm per pixel for the ruler, where the file gave it
    viewer.load(payload.case.image_url, payload.case.depth).then(() => { $("rs-loading").hidden = true; }, (e) => {
      $("rs-loading").textContent = e.message;
    });
    if (payload.prefetch) new Image().src = payload.prefetch;
    document.title = `Case ${payload.position} of ${payload.total} · ${study.title}`;
    document.dispatchEvent(new CustomEvent("rs:case", { detail: payload }));  // reader_flag.js follows the case
  }

  function advanceActiveFromStart() {
    const k = fieldsets.findIndex((fs) => flowKind(fs) && fieldValue(fs) == null);
    if (k >= 0) setActive(k);
  }

  async function getCase(position) {
    const response = await fetch(`${urls.case}${position}/`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("This case is not available.");
    return response.json();
  }

  // The server-side reading clock starts with this POST (a GET never writes). Best effort: a lost "viewed"
  // only shortens the server time of this case.
  function markViewed(position) {
    if (boot.preview || !current.editable) return;
    fetch(`${urls.viewed}${position}/viewed/`, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    }).catch(() => {});
  }

  async function go(position, push) {
    let payload;
    try {
      await flush();
      payload = await getCase(position);
    } catch (e) {
      setStatus(e.message, "error");
      return;
    }
    render(payload);
    markViewed(position);
    if (push !== false) history.pushState({ position }, "", `${urls.read}${position}/`);
  }

  // --- save and next --------------------------------------------------------------------------------
  let saving = false;

  // The answers on screen, or null (after marking each unanswered required question) when one is missing.
  function answersOnScreen() {
    const answers = {};
    const missing = [];
    fieldsets.forEach((fs) => {
      const v = fs.hidden ? null : fieldValue(fs);
      if (v != null && !(fs.dataset.kind !== "text" && v === "")) answers[fs.dataset.key] = v;
      if (fs.dataset.required === "1" && (v == null || v === "")) missing.push(fs);
    });
    clearErrors();
    if (!missing.length) return answers;
    missing.forEach((fs) => { fs.classList.add("has-error"); fs.querySelector(".rs-qerror").textContent = "Please answer this question."; });
    setActive(fieldsets.indexOf(missing[0]));
    setStatus("Answer every question marked in red, then press Enter.", "error");
    return null;
  }

  async function completeCase(token, answers) {
    let data;
    try {
      data = await sendAnswers(token, answers, true);
    } catch (err) {
      if (refused(err)) showServerErrors(err);
      else {
        // Keep the answers queued; they are sent once the connection is back.
        pending[token] = Object.assign(pending[token] || {}, answers); storePending(); scheduleRetry(err);
      }
      return;
    }
    delete pending[token]; storePending(); retryDelay = RETRY_FIRST;
    if (data.form_completed && !data.next) { window.location.href = urls.done; return; }
    if (data.session_break && urls.resume) { window.location.href = urls.resume; return; }
    if (data.next) {
      render(data.next);
      history.pushState({ position: data.next.position }, "", `${urls.read}${data.next.position}/`);
      setStatus(`Saved case ${data.position}.`, "ok");
    } else {
      current.completed = true;
      setStatus("Saved.", "ok");
    }
  }

  function saveAndNext() {
    if (saving) return;
    if (!current.editable) {
      if (current.next) go(current.next); else if (current.completed) window.location.href = urls.done;
      return;
    }
    const answers = answersOnScreen();
    if (!answers) return;
    saving = true;
    $("rs-save").disabled = true;
    setStatus("Saving…", "saving");
    const token = current.case.id;
    queue = queue.then(() => completeCase(token, answers)).then(() => { saving = false; $("rs-save").disabled = false; });
  }

  $("rs-save").addEventListener("click", saveAndNext);
  // Buttons hand the focus back after a click, so a following Enter is Save & next, never "that button again".
  $("rs-prev").addEventListener("click", (e) => { e.currentTarget.blur(); if (current.prev) go(current.prev); });
  $("rs-next").addEventListener("click", (e) => { e.currentTarget.blur(); if (current.next) go(current.next); });
  window.addEventListener("popstate", (e) => {
    if (e.state && e.state.position) go(e.state.position, false);
  });

  // --- keyboard -------------------------------------------------------------------------------------
  const firstOfKind = (kind) => fieldsets.findIndex((fs) => fs.dataset.kind === kind);

  // Keys that act on the viewer or move between questions and cases.
  const KEYS = {
    ArrowDown: () => setActive(activeIndex + 1, 1),
    ArrowUp: () => setActive(activeIndex - 1, -1),
    ArrowLeft: () => { if (current.prev) go(current.prev); },
    ArrowRight: () => { if (current.next) go(current.next); },
    l: () => preset("lung"),
    m: () => preset("mediastinum"),
    b: () => preset("bone"),
    i: () => viewer.invert(),
    r: () => viewer.reset(),
    0: () => viewer.fit(),
    "+": () => viewer.zoom(1.25),
    "=": () => viewer.zoom(1.25),
    "-": () => viewer.zoom(0.8),
    _: () => viewer.zoom(0.8),
    w: () => tools.wl(),
    f: () => tools.fullscreen(),
    d: () => tools.ruler(),
    g: () => tools.magnifier(),
    "?": () => { const keys = document.querySelector(".rs-keys"); keys.open = !keys.open; },
  };

  // Answer keys: y/n for the yes/no question, 1-9 for the active Likert or choice question. True when used.
  function answerKey(key) {
    const fs = fieldsets[activeIndex];
    if (key === "y" || key === "n" || key === "Y" || key === "N") {
      const k = fs && fs.dataset.kind === "yes_no" ? activeIndex : firstOfKind("yes_no");
      if (k >= 0) { setActive(k); answer(fieldsets[k], key.toLowerCase() === "y" ? "yes" : "no"); advanceActive(); }
      return true;
    }
    if ((key === "u" || key === "U") && study.allow_unable && fs && fs.dataset.kind !== "text") {
      answer(fs, UNABLE); advanceActive();
      return true;
    }
    if (/^[1-9]$/.test(key) && fs && fs.dataset.kind === "labels" && !fs.hidden) {
      toggleLabel(fs, parseInt(key, 10));
      return true;
    }
    if (/^[1-9]$/.test(key) && fs && (fs.dataset.kind === "likert" || fs.dataset.kind === "choice")) {
      const inputs = fs.querySelectorAll(`input:not([value="${UNABLE}"])`);
      const n = parseInt(key, 10);
      if (n <= inputs.length) { answer(fs, fs.dataset.kind === "likert" ? n : inputs[n - 1].value); advanceActive(); }
      return true;
    }
    return false;
  }

  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type === "text"))) {
      if (e.key === "Escape") t.blur();
      else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); t.blur(); saveAndNext(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key;
    if (key === "Enter") {
      if (t && t.tagName === "BUTTON" && t.id !== "rs-save") return;  // let focused buttons work
      e.preventDefault(); saveAndNext(); return;
    }
    if (answerKey(key)) { e.preventDefault(); return; }
    // Letters work in either case (L and l both pick the lung window).
    const name = /^[A-Z]$/.test(key) ? key.toLowerCase() : key;
    if (!Object.hasOwn(KEYS, name)) return;
    KEYS[name]();
    e.preventDefault();
  });

  window.addEventListener("beforeunload", (e) => {
    if (Object.keys(pending).length) { e.preventDefault(); e.returnValue = ""; }
  });

  // Signing out forgets this reader's unsent answers on this device (the server also sends Clear-Site-Data).
  const logout = document.querySelector("form.logout");
  if (logout) {
    logout.addEventListener("submit", (e) => {
      const n = Object.keys(pending).reduce((k, t) => k + Object.keys(pending[t]).length, 0);
      if (n && !window.confirm(`${n} answer(s) are not saved yet and will be discarded. Sign out anyway?`)) {
        e.preventDefault(); return;
      }
      pending = {};
      try { localStorage.removeItem(PENDING_KEY); } catch (err) { /* nothing stored */ }
    });
  }

  render(current);
  markViewed(current.position);
  flush();  // answers left over from a previous visit (reload, crash, lost connection)
})();
