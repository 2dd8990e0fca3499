/* The reading page: one case at a time, autosave of every answer, keyboard shortcuts, resume, prefetch.
 *
 * Saves go through one queue (in order, one request at a time). An answer that could not be sent (network
 * down) stays in localStorage and is retried, also after a reload, so nothing a reader gave is lost.
 */
(function () {
  "use strict";

  var boot = JSON.parse(document.getElementById("rs-bootstrap").textContent);
  var study = boot.study, urls = boot.urls, current = boot.case;
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  var $ = function (id) { return document.getElementById(id); };
  var form = $("rs-form"), statusEl = $("rs-status");
  var fieldsets = Array.prototype.slice.call(form.querySelectorAll(".rs-q"));
  var questions = {};
  study.questions.forEach(function (q) { questions[q.key] = q; });
  var activeIndex = 0;
  // Per user and study (a shared reading-room computer has many readers); cleared at logout.
  // An admin's preview has no reader: nothing is stored or sent.
  var reader = boot.reader || { pending_key: null, assignment: null };
  var PENDING_KEY = reader.pending_key, ASSIGNMENT = reader.assignment;

  // --- viewer ---------------------------------------------------------------------------------------
  // Window/level presets in display-pixel units (the images are 8-bit renderings): which grey range to stretch.
  var PRESETS = { lung: [160, 96], mediastinum: [120, 175], bone: [80, 210], default: [255, 127.5] };
  var VIEW_KEY = "rs-view-" + study.id;  // W/L and invert persist across cases and reloads (display only)
  var savedView = "";
  var readout = $("rs-readout");
  var viewer = new window.CxrViewer($("rs-stage"), $("rs-canvas"), {
    onChange: function (s) {
      readout.textContent = Math.round(s.zoom * 100) + "%  ·  W " + Math.round(s.width) + "  L " + Math.round(s.level) +
        (s.inverted ? "  ·  inverted" : "");
      document.querySelector('[data-tool="invert"]').setAttribute("aria-pressed", String(s.inverted));
      document.querySelector('[data-tool="wl"]').setAttribute("aria-pressed", String(s.wlMode));
      document.querySelectorAll("[data-preset]").forEach(function (b) {
        var p = PRESETS[b.dataset.preset];
        b.setAttribute("aria-pressed", String(Math.abs(p[0] - s.width) < 0.5 && Math.abs(p[1] - s.level) < 0.5));
      });
      var view = JSON.stringify({ width: s.width, level: s.level, inverted: s.inverted });
      if (view !== savedView) {
        savedView = view;
        try { localStorage.setItem(VIEW_KEY, view); } catch (e) { /* private mode: keeps it for this page */ }
      }
    },
  });
  try {
    var v = JSON.parse(localStorage.getItem(VIEW_KEY));
    if (v && isFinite(v.width) && isFinite(v.level)) { viewer.setWindow(v.width, v.level, v.inverted); }
  } catch (e) { /* nothing stored, or unreadable: the default window */ }
  function preset(name) { viewer.setWindow(PRESETS[name][0], PRESETS[name][1]); }
  document.querySelectorAll("[data-preset]").forEach(function (b) {
    b.addEventListener("click", function () { preset(b.dataset.preset); b.blur(); });
  });
  var tools = {
    fit: function () { viewer.fit(); },
    actual: function () { viewer.actualSize(); },
    "zoom-in": function () { viewer.zoom(1.25); },
    "zoom-out": function () { viewer.zoom(0.8); },
    wl: function () { viewer.wlMode = !viewer.wlMode; viewer._draw(); },
    invert: function () { viewer.invert(); },
    reset: function () { viewer.reset(); },
    fullscreen: function () { viewer.fullscreen($("rs-viewer")); },
  };
  document.querySelectorAll("[data-tool]").forEach(function (b) {
    b.addEventListener("click", function () { tools[b.dataset.tool](); b.blur(); });
  });

  // --- active time: page visible and some input in the last minute ----------------------------------
  var activeMs = 0, lastInput = Date.now(), lastTick = Date.now();
  ["pointermove", "pointerdown", "keydown", "wheel", "touchstart"].forEach(function (ev) {
    window.addEventListener(ev, function () { lastInput = Date.now(); }, { passive: true });
  });
  // Accrue up to now; called by the ticker AND right before every save, so the time since the last tick
  // is never lost (a case answered within a second of loading would otherwise report 0 s).
  function accrueActive() {
    var now = Date.now();
    if (document.visibilityState === "visible" && now - lastInput < 60000) { activeMs += now - lastTick; }
    lastTick = now;
  }
  setInterval(accrueActive, 1000);

  // --- status line ----------------------------------------------------------------------------------
  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "rs-status" + (kind ? " is-" + kind : "");
  }

  // --- the save queue -------------------------------------------------------------------------------
  var pending = loadPending();   // {caseToken: {key: value}}
  var queue = Promise.resolve();
  var retryTimer = null;

  function loadPending() {
    if (!PENDING_KEY) { return {}; }
    try { return JSON.parse(localStorage.getItem(PENDING_KEY)) || {}; } catch (e) { return {}; }
  }
  function storePending() {
    try {
      if (!PENDING_KEY) { return; }
      if (Object.keys(pending).length) { localStorage.setItem(PENDING_KEY, JSON.stringify(pending)); }
      else { localStorage.removeItem(PENDING_KEY); }
    } catch (e) { /* private mode: the in-memory queue still retries */ }
  }

  function post(body) {
    return fetch(urls.submit, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var err = new Error(data.detail || ("Error " + r.status)); err.data = data; err.status = r.status; throw err; }
        return data;
      });
    });
  }

  function sendAnswers(token, answers, complete) {
    accrueActive();
    var sent = activeMs;
    return post({ case: token, assignment: ASSIGNMENT, answers: answers, complete: !!complete, active_ms: Math.round(sent) })
      .then(function (data) { activeMs = Math.max(0, activeMs - sent); return data; });
  }

  // Flush every queued answer (this case and any left over from before a reload or a lost connection).
  function flush() {
    if (boot.preview) { return queue; }  // an admin's preview never saves anything
    queue = queue.then(function () {
      var tokens = Object.keys(pending);
      return tokens.reduce(function (p, token) {
        return p.then(function () {
          // A copy: answers given while this request is in flight go into pending[token] and must stay queued.
          var answers = Object.assign({}, pending[token]);
          if (!Object.keys(answers).length) { delete pending[token]; storePending(); return; }
          setStatus("Saving…", "saving");
          return sendAnswers(token, answers, false).then(function () {
            // Drop only what was sent; anything newer stays queued.
            Object.keys(answers).forEach(function (k) {
              if (pending[token] && pending[token][k] === answers[k]) { delete pending[token][k]; }
            });
            if (pending[token] && !Object.keys(pending[token]).length) { delete pending[token]; }
            storePending();
            retryDelay = RETRY_FIRST;
            setStatus("All answers saved", "ok");
            clearErrors();
          }, function (err) {
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
          });
        });
      }, Promise.resolve());
    });
    return queue;
  }

  // 400/409: the server validated the answers and said no. 401/403 (signed out, stale CSRF token) and 5xx say
  // nothing about the answers, so those stay queued: dropping them would lose what the reader gave.
  function refused(err) { return err.status === 400 || err.status === 409; }
  function signedOut(err) { return err.status === 401 || err.status === 403; }

  // Server errors and lost connections: retry with exponential back-off (3 s, 6 s, ... at most 60 s), saying
  // when the next try is, so a broken server is not hammered and the reader knows their answers wait here.
  var RETRY_FIRST = 3000, RETRY_MAX = 60000, retryDelay = RETRY_FIRST;
  function scheduleRetry(err) {
    if (retryTimer) { return; }
    var why = err && err.status >= 500 ? "the server had a problem (" + err.status + ")" : "connection lost";
    setStatus("Not saved yet — " + why + "; your answers are kept on this device. Trying again in " +
      Math.round(retryDelay / 1000) + " s.", "error");
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, retryDelay);
    retryDelay = Math.min(RETRY_MAX, retryDelay * 2);
  }

  function queueAnswer(key, value) {
    pending[current.case.id] = pending[current.case.id] || {};
    pending[current.case.id][key] = value;
    storePending();
    return flush();
  }

  // --- the form -------------------------------------------------------------------------------------
  function fieldValue(fs) {
    var kind = fs.dataset.kind;
    if (kind === "text") { return fs.querySelector("textarea").value; }
    var checked = fs.querySelector("input:checked");
    if (!checked) { return null; }
    return kind === "likert" ? parseInt(checked.value, 10) : checked.value;
  }

  function setFieldValue(fs, value) {
    if (fs.dataset.kind === "text") { fs.querySelector("textarea").value = value == null ? "" : value; return; }
    fs.querySelectorAll("input").forEach(function (input) { input.checked = value != null && String(value) === input.value; });
    fs.classList.toggle("is-answered", value != null && value !== "");
  }

  function clearErrors() {
    fieldsets.forEach(function (fs) { fs.classList.remove("has-error"); fs.querySelector(".rs-qerror").textContent = ""; });
  }

  function showServerErrors(err) {
    var errors = (err.data && err.data.errors) || {};
    var shown = false;
    fieldsets.forEach(function (fs) {
      var msg = errors[fs.dataset.key];
      if (msg) { fs.classList.add("has-error"); fs.querySelector(".rs-qerror").textContent = msg; shown = true; }
    });
    setStatus(err.message || "Not saved.", "error");
    return shown;
  }

  function setActive(i) {
    activeIndex = Math.max(0, Math.min(fieldsets.length - 1, i));
    fieldsets.forEach(function (fs, k) { fs.classList.toggle("is-active", k === activeIndex); });
  }

  function advanceActive() {
    // Next unanswered choice-type question after the current one; else stay.
    for (var step = 1; step <= fieldsets.length; step++) {
      var k = (activeIndex + step) % fieldsets.length, fs = fieldsets[k];
      if (fs.dataset.kind !== "text" && fieldValue(fs) == null) { setActive(k); return; }
    }
    setActive(Math.min(activeIndex + 1, fieldsets.length - 1));
  }

  function answer(fs, value) {
    if (!current.editable) { return; }
    setFieldValue(fs, value);
    fs.classList.remove("has-error");
    fs.querySelector(".rs-qerror").textContent = "";
    queueAnswer(fs.dataset.key, value);
  }

  fieldsets.forEach(function (fs, k) {
    fs.addEventListener("change", function (e) {
      if (e.target.type === "radio") {
        setActive(k);
        answer(fs, fieldValue(fs));
        advanceActive();
      }
    });
    fs.addEventListener("pointerdown", function () { setActive(k); });
    var ta = fs.querySelector("textarea");
    if (ta) {
      var timer = null;
      ta.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { answer(fs, ta.value); }, 700);
      });
      ta.addEventListener("blur", function () {
        clearTimeout(timer);
        if (current.answers[fs.dataset.key] !== ta.value) { answer(fs, ta.value); current.answers[fs.dataset.key] = ta.value; }
      });
      ta.addEventListener("focus", function () { setActive(k); });
    }
  });

  // --- showing a case -------------------------------------------------------------------------------
  function render(payload) {
    current = payload;
    $("rs-pos").textContent = payload.position;
    $("rs-total").textContent = payload.total;
    $("rs-done").textContent = payload.done;
    $("rs-bar").style.width = (100 * payload.done / payload.total) + "%";
    var labels = $("rs-labels");
    labels.textContent = "";
    (payload.case.shown_labels.length ? payload.case.shown_labels : ["No label"]).forEach(function (l) {
      var chip = document.createElement("span");
      chip.className = "rs-chip";
      chip.textContent = l;
      labels.appendChild(chip);
    });
    var queued = pending[payload.case.id] || {};
    fieldsets.forEach(function (fs) {
      var key = fs.dataset.key;
      var v = key in queued ? queued[key] : payload.answers[key];
      setFieldValue(fs, v == null ? null : v);
      fs.querySelectorAll("input, textarea").forEach(function (el) { el.disabled = !payload.editable; });
    });
    clearErrors();
    $("rs-prev").disabled = !payload.prev;
    $("rs-next").disabled = !payload.next;
    $("rs-save").disabled = false;
    $("rs-save").firstChild.textContent = boot.preview ? "Next image " :
      payload.position === payload.total ? "Save & finish " : "Save & next ";
    document.body.classList.toggle("rs-locked", !payload.editable);
    if (boot.preview) { setStatus("Preview: answers are not saved.", "info"); }
    else if (!payload.editable) { setStatus(study.status !== "open" ? "This study is closed." : "Finished case — answers are locked.", "info"); }
    else if (payload.completed) { setStatus("Finished case — you can still change answers.", "ok"); }
    else { setStatus("", ""); }
    setActive(0);
    advanceActiveFromStart();
    $("rs-loading").hidden = false;
    viewer.load(payload.case.image_url).then(function () { $("rs-loading").hidden = true; }, function (e) {
      $("rs-loading").textContent = e.message;
    });
    if (payload.prefetch) { var img = new Image(); img.src = payload.prefetch; }
    document.title = "Case " + payload.position + " of " + payload.total + " · " + study.title;
    document.dispatchEvent(new CustomEvent("rs:case", { detail: payload }));  // reader_flag.js follows the case
  }

  function advanceActiveFromStart() {
    for (var k = 0; k < fieldsets.length; k++) {
      if (fieldsets[k].dataset.kind !== "text" && fieldValue(fieldsets[k]) == null) { setActive(k); return; }
    }
  }

  function getCase(position) {
    return fetch(urls.case + position + "/", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("This case is not available."); } return r.json(); });
  }

  // The server-side reading clock starts with this POST (a GET never writes). Best effort: a lost "viewed"
  // only shortens the server time of this case.
  function markViewed(position) {
    if (boot.preview || !current.editable) { return; }
    fetch(urls.viewed + position + "/viewed/", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    }).catch(function () {});
  }

  function go(position, push) {
    return flush().then(function () { return getCase(position); }).then(function (payload) {
      render(payload);
      markViewed(position);
      if (push !== false) { history.pushState({ position: position }, "", urls.read + position + "/"); }
    }, function (e) { setStatus(e.message, "error"); });
  }

  // --- save and next --------------------------------------------------------------------------------
  var saving = false;
  function saveAndNext() {
    if (saving) { return; }
    if (!current.editable) {
      if (current.next) { go(current.next); } else if (current.completed) { window.location.href = urls.done; }
      return;
    }
    var answers = {}, missing = [];
    fieldsets.forEach(function (fs) {
      var v = fieldValue(fs);
      if (v != null && !(fs.dataset.kind !== "text" && v === "")) { answers[fs.dataset.key] = v; }
      if (fs.dataset.required === "1" && (v == null || v === "")) { missing.push(fs); }
    });
    clearErrors();
    if (missing.length) {
      missing.forEach(function (fs) { fs.classList.add("has-error"); fs.querySelector(".rs-qerror").textContent = "Please answer this question."; });
      setActive(fieldsets.indexOf(missing[0]));
      setStatus("Answer every question marked in red, then press Enter.", "error");
      return;
    }
    saving = true;
    $("rs-save").disabled = true;
    setStatus("Saving…", "saving");
    var token = current.case.id;
    queue = queue.then(function () {
      return sendAnswers(token, answers, true).then(function (data) {
        delete pending[token]; storePending(); retryDelay = RETRY_FIRST;
        if (data.form_completed && !data.next) { window.location.href = urls.done; return; }
        if (data.next) {
          render(data.next);
          history.pushState({ position: data.next.position }, "", urls.read + data.next.position + "/");
          setStatus("Saved case " + data.position + ".", "ok");
        } else {
          current.completed = true;
          setStatus("Saved.", "ok");
        }
      }, function (err) {
        if (refused(err)) { showServerErrors(err); }
        else {
          // Keep the answers queued; they are sent once the connection is back.
          pending[token] = Object.assign(pending[token] || {}, answers); storePending(); scheduleRetry(err);
        }
      });
    }).then(function () { saving = false; $("rs-save").disabled = false; });
  }

  $("rs-save").addEventListener("click", saveAndNext);
  $("rs-prev").addEventListener("click", function () { if (current.prev) { go(current.prev); } });
  $("rs-next").addEventListener("click", function () { if (current.next) { go(current.next); } });
  window.addEventListener("popstate", function (e) {
    if (e.state && e.state.position) { go(e.state.position, false); }
  });

  // --- keyboard -------------------------------------------------------------------------------------
  function firstOfKind(kind) {
    for (var k = 0; k < fieldsets.length; k++) { if (fieldsets[k].dataset.kind === kind) { return k; } }
    return -1;
  }

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type === "text"))) {
      if (e.key === "Escape") { t.blur(); }
      else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); t.blur(); saveAndNext(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var fs = fieldsets[activeIndex], key = e.key;
    if (key === "Enter") {
      if (t && t.tagName === "BUTTON" && t.id !== "rs-save") { return; }  // let focused buttons work
      e.preventDefault(); saveAndNext(); return;
    }
    if (key === "y" || key === "n" || key === "Y" || key === "N") {
      var k = fs && fs.dataset.kind === "yes_no" ? activeIndex : firstOfKind("yes_no");
      if (k >= 0) { setActive(k); answer(fieldsets[k], key.toLowerCase() === "y" ? "yes" : "no"); advanceActive(); }
      e.preventDefault(); return;
    }
    if (/^[1-9]$/.test(key) && fs && (fs.dataset.kind === "likert" || fs.dataset.kind === "choice")) {
      var inputs = fs.querySelectorAll("input"), n = parseInt(key, 10);
      if (n <= inputs.length) { answer(fs, fs.dataset.kind === "likert" ? n : inputs[n - 1].value); advanceActive(); }
      e.preventDefault(); return;
    }
    switch (key) {
      case "ArrowDown": setActive(activeIndex + 1); break;
      case "ArrowUp": setActive(activeIndex - 1); break;
      case "ArrowLeft": if (current.prev) { go(current.prev); } break;
      case "ArrowRight": if (current.next) { go(current.next); } break;
      case "l": case "L": preset("lung"); break;
      case "m": case "M": preset("mediastinum"); break;
      case "b": case "B": preset("bone"); break;
      case "i": case "I": viewer.invert(); break;
      case "r": case "R": viewer.reset(); break;
      case "0": viewer.fit(); break;
      case "+": case "=": viewer.zoom(1.25); break;
      case "-": case "_": viewer.zoom(0.8); break;
      case "w": case "W": tools.wl(); break;
      case "f": case "F": tools.fullscreen(); break;
      case "?": document.querySelector(".rs-keys").open = !document.querySelector(".rs-keys").open; break;
      default: return;
    }
    e.preventDefault();
  });

  window.addEventListener("beforeunload", function (e) {
    if (Object.keys(pending).length) { e.preventDefault(); e.returnValue = ""; }
  });

  // Signing out forgets this reader's unsent answers on this device (the server also sends Clear-Site-Data).
  var logout = document.querySelector("form.logout");
  if (logout) {
    logout.addEventListener("submit", function (e) {
      var n = Object.keys(pending).reduce(function (k, t) { return k + Object.keys(pending[t]).length; }, 0);
      if (n && !window.confirm(n + " answer(s) are not saved yet and will be discarded. Sign out anyway?")) {
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
