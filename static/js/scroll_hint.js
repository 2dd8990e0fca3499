// A wide table scrolls inside its .scroll-x box; on a narrow window nothing showed that more columns exist.
// Each such box that is wider than its window gets a line above it saying so (and loses it when it fits).
(function () {
  "use strict";
  function update() {
    document.querySelectorAll(".scroll-x").forEach((box) => {
      const wide = box.scrollWidth > box.clientWidth + 1;
      let hint = box.previousElementSibling;
      if (!(hint && hint.classList.contains("scroll-hint"))) {
        if (!wide) return;
        hint = document.createElement("p");
        hint.className = "scroll-hint";
        hint.textContent = "More columns: scroll the table sideways →";
        box.parentNode.insertBefore(hint, box);
      }
      hint.hidden = !wide;
    });
  }
  window.addEventListener("resize", update);
  document.addEventListener("DOMContentLoaded", update);
  if (document.readyState !== "loading") update();
})();
