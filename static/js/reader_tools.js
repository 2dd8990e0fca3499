/* Measuring aids of the reading page's viewer (reader_viewer.js), switched by reader.js (buttons, D and G):
 *
 * - the ruler: in ruler mode a left-drag draws a line on the image; its length is read out in image pixels
 *   and, where the case's DICOM file gave the pixel spacing, in mm ("at the detector" when only
 *   ImagerPixelSpacing was there: that length includes the X-ray magnification). Right-drag and Shift-drag
 *   still set window/level; the line stays on the anatomy through zoom and pan and goes with the image.
 * - the magnifier: a round loupe that follows the pointer over the image and shows it 3x larger than on
 *   screen, drawn from the windowed pixels, so window/level and invert show in it too.
 *
 * Neither takes a key: the answer keys (Y, N, U, 1-9, Enter) keep answering while a tool is on.
 */
(function () {
  "use strict";

  var LOUPE_FACTOR = 3;  // loupe magnification relative to the current on-screen zoom

  var V = window.CxrViewer.prototype;

  // {px, mm, detector}: the ruler's length in image pixels and, with a known spacing, in mm; null without one.
  V.measurement = function () {
    var r = this.ruler;
    if (!r) { return null; }
    var dx = r.x1 - r.x0, dy = r.y1 - r.y0, s = this.spacing;
    return {
      px: Math.hypot(dx, dy),
      mm: s ? Math.hypot(dx * s.col_mm, dy * s.row_mm) : null,
      detector: !!(s && s.detector),
    };
  };

  V.measurementText = function () {
    var m = this.measurement();
    if (!m) { return ""; }
    var text = Math.round(m.px) + " px";
    if (m.mm !== null) { text += " · " + m.mm.toFixed(1) + " mm" + (m.detector ? " at the detector" : ""); }
    return text;
  };

  // Called by _paint after the image, with the context in CSS pixels.
  V.paintOverlay = function (ctx) {
    if (this.ruler) { this._paintRuler(ctx); }
    if (this.onMeasure) { this.onMeasure(this.measurementText()); }
    if (this.loupe && this.loupe.at) { this._paintLoupe(); }
  };

  V._paintRuler = function (ctx) {
    var a = this.toStage(this.ruler.x0, this.ruler.y0), b = this.toStage(this.ruler.x1, this.ruler.y1);
    ctx.save();
    ctx.lineCap = "round";
    ctx.strokeStyle = "rgba(0, 0, 0, .8)"; ctx.lineWidth = 4;  // a dark edge keeps the line visible on white
    ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
    ctx.strokeStyle = "#ffd400"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
    [a, b].forEach(function (p) { ctx.beginPath(); ctx.arc(p[0], p[1], 3, 0, 2 * Math.PI); ctx.fillStyle = "#ffd400"; ctx.fill(); });
    var text = this.measurementText();
    ctx.font = "600 13px system-ui, sans-serif";
    var w = ctx.measureText(text).width + 10;
    ctx.fillStyle = "rgba(0, 0, 0, .75)"; ctx.fillRect(b[0] + 8, b[1] - 10, w, 20);
    ctx.fillStyle = "#fff"; ctx.fillText(text, b[0] + 13, b[1] + 5);
    ctx.restore();
  };

  V.setRulerMode = function (on) {
    this.rulerMode = !!on;
    if (!on) { this.ruler = null; }
    this.canvas.classList.toggle("is-measuring", this.rulerMode);
    this._draw();
  };

  // --- the magnifier ---------------------------------------------------------------------------------
  V.setMagnifier = function (on, loupeCanvas) {
    if (!this.loupe) {
      var self = this, c = this.canvas;
      this.loupe = { el: loupeCanvas, on: false, at: null };
      c.addEventListener("pointermove", function (e) {
        if (!self.loupe.on) { return; }
        var r = c.getBoundingClientRect();
        self.loupe.at = [e.clientX - r.left, e.clientY - r.top];
        self._paintLoupe();
      });
      c.addEventListener("pointerleave", function () { self.loupe.at = null; self.loupe.el.hidden = true; });
    }
    this.loupe.on = !!on;
    this.loupe.at = null;
    this.loupe.el.hidden = true;
  };

  V._paintLoupe = function () {
    var L = this.loupe, el = L.el;
    if (!L.on || !L.at || !this.w) { return; }
    el.hidden = false;  // shown first: a hidden loupe has no size to draw into
    var size = el.clientWidth, dpr = window.devicePixelRatio || 1;
    if (el.width !== Math.round(size * dpr)) { el.width = el.height = Math.round(size * dpr); }
    var p = this.toImage(L.at[0], L.at[1]);
    var zoom = Math.min(64, this.scale * LOUPE_FACTOR), half = size / zoom / 2;
    var ctx = el.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, size, size);
    ctx.imageSmoothingEnabled = zoom < 3;
    ctx.drawImage(this.view, p[0] - half, p[1] - half, 2 * half, 2 * half, 0, 0, size, size);
    el.style.left = (L.at[0] - el.offsetWidth / 2) + "px";  // centred on the pointer, border included
    el.style.top = (L.at[1] - el.offsetHeight / 2) + "px";
    el.dataset.zoom = zoom.toFixed(3);  // read by the browser test
  };
})();
