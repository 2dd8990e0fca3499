// "Flag this case": a reader marks the shown case for the researchers, with an optional comment.
// Loaded before reader.js, which announces every case it shows with an "rs:case" event.
(function () {
  "use strict";
  const boot = JSON.parse(document.getElementById("rs-bootstrap").textContent);
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const box = document.getElementById("rs-flag");
  const toggle = document.getElementById("rs-flag-toggle");
  const comment = document.getElementById("rs-flag-comment");
  const note = document.getElementById("rs-flag-status");
  let token = null;
  let timer = null;

  function show(flagged, text) {
    toggle.setAttribute("aria-pressed", String(flagged));
    toggle.querySelector("span").textContent = flagged ? "Flagged — remove flag" : "Flag this case";
    box.classList.toggle("is-flagged", flagged);
    comment.hidden = !flagged;
    document.getElementById("rs-flag-hint").hidden = !flagged;
    if (text !== undefined) comment.value = text;
  }

  async function save(flagged) {
    const caseToken = token;
    note.textContent = "Saving flag…";
    try {
      const response = await fetch(boot.urls.flag, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
        body: JSON.stringify({ case: caseToken, flagged, comment: flagged ? comment.value : "" }),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(data.detail || `Error ${response.status}`);
      if (caseToken === token) note.textContent = data.flagged ? "Flag saved for the researchers." : "";
    } catch (err) {
      if (caseToken === token) note.textContent = `Flag not saved: ${err.message}`;
    }
  }

  toggle.addEventListener("click", () => {
    const flagged = toggle.getAttribute("aria-pressed") !== "true";
    show(flagged, flagged ? undefined : "");
    save(flagged);
    // Focus goes back to the case, so the next Enter is Save & next and answer keys answer: a key never
    // changes a flag (or lands in its comment) unless the reader moves into the flag box on purpose.
    toggle.blur();
  });
  // Enter ends the comment (Shift+Enter is a new line); so does any click outside the box, also on the
  // image, whose pointerdown keeps the focus where it was.
  comment.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.ctrlKey && !e.metaKey) { e.preventDefault(); comment.blur(); }
  });
  document.addEventListener("pointerdown", (e) => {
    if (document.activeElement === comment && !box.contains(e.target)) comment.blur();
  }, true);
  comment.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; save(true); }, 700);
  });
  comment.addEventListener("blur", () => {
    if (timer) { clearTimeout(timer); timer = null; save(true); }
  });

  document.addEventListener("rs:case", (event) => {
    const payload = event.detail;
    if (timer) { clearTimeout(timer); timer = null; save(true); }  // a comment typed just before moving on
    token = payload.case.id;
    show(payload.flag.flagged, payload.flag.comment);
    note.textContent = "";
    toggle.disabled = boot.preview || boot.study.status !== "open";
  });
})();
