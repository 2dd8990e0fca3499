/* Image viewer for the reading page: zoom, pan, window/level, invert, fit/reset, full screen, and two
 * measuring aids (reader_tools.js): a ruler (drag to measure, in image pixels and, where the DICOM file gives
 * the pixel spacing, in mm) and a magnifier (a loupe that follows the pointer).
 * Vanilla JS, no build step. The original pixels are kept once; window/level and invert are applied through
 * a 256-entry lookup table into a second canvas, which is then drawn with the current zoom and pan.
 * DICOM cases also bring their full-depth pixels (raw uint16, up to 65536 grey levels): window/level then maps
 * those through a lookup table as long as their range, so a narrow window shows real detail, not 8-bit steps.
 * Window width and level stay in display units (0-255 of the whole range) for every image, so presets, the
 * readout and the stored setting mean the same grey range on 8-bit and deep images.
 */
(function () {
  "use strict";

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

  function CxrViewer(stage, canvas, opts) {
    this.stage = stage;
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onChange = (opts && opts.onChange) || function () {};
    this.src = null;          // ImageData of the original pixels
    this.view = document.createElement("canvas");  // pixels after window/level
    this.w = 0; this.h = 0;
    this.scale = 1; this.tx = 0; this.ty = 0; this.fitted = true;
    this.ww = 255; this.wl = 127.5; this.inverted = false;
    this.wlMode = false;
    this.drag = null;
    this.pendingLut = false; this.pendingDraw = false;
    this.loadToken = 0;
    this.src16 = null; this.depthMax = 0;  // full-depth pixels (DICOM) and their largest value
    this.fileWindow = null;  // [width, level] in display units, from the DICOM file
    this.rulerMode = false;  // a left-drag measures instead of panning (reader_tools.js draws and reads out)
    this.ruler = null;       // {x0, y0, x1, y1} in image pixels: it stays on the anatomy through zoom and pan
    this.spacing = null;     // {row_mm, col_mm, detector} of the shown case, when its DICOM file gave it
    canvas.cxrViewer = this;  // for page scripts and browser tests that read the rendered pixels
    this._bind();
    var self = this;
    if (window.ResizeObserver) {
      new ResizeObserver(function () { self._resize(); }).observe(stage);
    } else {
      window.addEventListener("resize", function () { self._resize(); });
    }
    this._resize();
  }

  CxrViewer.prototype.load = function (url, depth) {
    var self = this, token = ++this.loadToken;
    this.src16 = null; this.fileWindow = null; this.ruler = null;  // a measurement belongs to its image
    var png = this._loadPng(url, token);
    if (!depth) { return png; }
    var raw = fetch(depth.url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("The full-depth image could not be loaded."); }
      return r.arrayBuffer();
    });
    return Promise.all([png, raw]).then(function (got) {
      if (!got[0] || token !== self.loadToken) { return false; }
      var pixels = new Uint16Array(got[1]);
      if (pixels.length !== self.w * self.h) { throw new Error("The full-depth image does not match its size."); }
      self.src16 = pixels; self.depthMax = Math.max(1, depth.max);
      if (depth.from_file) {
        self.fileWindow = [depth.width * 255 / self.depthMax, depth.center * 255 / self.depthMax];
        self.setWindow(self.fileWindow[0], self.fileWindow[1]);
      } else { self._lut(); }
      return true;
    });
  };

  CxrViewer.prototype._loadPng = function (url, token) {
    var self = this;
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onload = function () {
        if (token !== self.loadToken) { return resolve(false); }  // a newer case replaced this one
        var off = document.createElement("canvas");
        off.width = img.naturalWidth; off.height = img.naturalHeight;
        var octx = off.getContext("2d", { willReadFrequently: true });
        octx.drawImage(img, 0, 0);
        self.src = octx.getImageData(0, 0, off.width, off.height);
        self.w = off.width; self.h = off.height;
        self.view.width = self.w; self.view.height = self.h;
        // Window/level and invert carry over from the previous case (a reader sets them once per session);
        // zoom and pan start fitted, since each image has its own framing.
        self._lut(); self.fit();
        resolve(true);
      };
      img.onerror = function () { reject(new Error("The image could not be loaded.")); };
      img.src = url;
    });
  };

  CxrViewer.prototype.reset = function () {
    this.ww = 255; this.wl = 127.5; this.inverted = false;
    this._lut(); this.fit();
  };

  CxrViewer.prototype.fit = function () {
    if (!this.w) { return; }
    var r = this.stage.getBoundingClientRect();
    this.scale = Math.min(r.width / this.w, r.height / this.h) * 0.98;
    this.tx = (r.width - this.w * this.scale) / 2;
    this.ty = (r.height - this.h * this.scale) / 2;
    this.fitted = true;
    this._draw();
  };

  CxrViewer.prototype.actualSize = function () {
    var r = this.stage.getBoundingClientRect();
    this.zoomAt(1 / this.scale, r.width / 2, r.height / 2);
  };

  CxrViewer.prototype.zoomAt = function (factor, x, y) {
    if (!this.w) { return; }
    var next = clamp(this.scale * factor, 0.05, 32);
    factor = next / this.scale;
    this.tx = x - (x - this.tx) * factor;
    this.ty = y - (y - this.ty) * factor;
    this.scale = next; this.fitted = false;
    this._draw();
  };

  CxrViewer.prototype.zoom = function (factor) {
    var r = this.stage.getBoundingClientRect();
    this.zoomAt(factor, r.width / 2, r.height / 2);
  };

  // Window width and level in display-pixel units (0-255): the images are 8-bit renderings, so a preset is
  // the part of that range to stretch over the screen's full contrast.
  CxrViewer.prototype.setWindow = function (width, level, inverted) {
    this.ww = clamp(width, this.src16 ? 0.02 : 1, 512);
    this.wl = clamp(level, -128, 383);
    if (inverted !== undefined) { this.inverted = !!inverted; }
    this._lut();
  };

  CxrViewer.prototype.invert = function () { this.inverted = !this.inverted; this._lut(); };

  CxrViewer.prototype.windowLevel = function (dWidth, dLevel) {
    // Deep images: drag steps shrink with the window, so a narrow window can still be fine-tuned.
    var step = this.src16 ? Math.max(0.02, this.ww / 255) : 1;
    this.ww = clamp(this.ww + dWidth * step, this.src16 ? 0.02 : 1, 512);
    dLevel *= step;
    this.wl = clamp(this.wl + dLevel, -128, 383);
    this._lut();
  };

  CxrViewer.prototype.fullscreen = function (el) {
    el = el || this.stage.parentElement;
    if (document.fullscreenElement) { document.exitFullscreen(); }
    else if (el.requestFullscreen) { el.requestFullscreen(); }
  };

  // Repaint on the next frame (after a caller changed a display setting such as wlMode).
  CxrViewer.prototype.redraw = function () { this._draw(); };

  CxrViewer.prototype.state = function () {
    return { zoom: this.scale, width: this.ww, level: this.wl, inverted: this.inverted, wlMode: this.wlMode,
      depth: this.src16 ? this.depthMax : 0 };
  };

  // --- rendering -----------------------------------------------------------------------------------
  CxrViewer.prototype._lut = function () {
    var self = this;
    if (this.pendingLut) { return; }
    this.pendingLut = true;
    requestAnimationFrame(function () { self.pendingLut = false; self._applyLut(); });
  };

  CxrViewer.prototype._applyLut = function () {
    if (!this.src) { return; }
    if (this.src16) { this._applyLut16(); return; }
    var lut = new Uint8ClampedArray(256), lo = this.wl - this.ww / 2, k = 255 / this.ww, i;
    for (i = 0; i < 256; i++) {
      var v = (i - lo) * k;
      lut[i] = this.inverted ? 255 - clamp(v, 0, 255) : v;
    }
    var s = this.src.data, out = new ImageData(this.w, this.h), d = out.data, n = s.length;
    for (i = 0; i < n; i += 4) {
      d[i] = lut[s[i]]; d[i + 1] = lut[s[i + 1]]; d[i + 2] = lut[s[i + 2]]; d[i + 3] = 255;
    }
    this.view.getContext("2d").putImageData(out, 0, 0);
    this._draw();
  };

  // Full depth: one table entry per grey level of the file (value v sits at v * 255 / max display units).
  CxrViewer.prototype._applyLut16 = function () {
    var max = this.depthMax, lut = new Uint8ClampedArray(max + 1), lo = this.wl - this.ww / 2, k = 255 / this.ww;
    var unit = 255 / max, i, p;
    for (i = 0; i <= max; i++) {
      var v = (i * unit - lo) * k;
      lut[i] = this.inverted ? 255 - clamp(v, 0, 255) : v;
    }
    var src = this.src16, out = new ImageData(this.w, this.h), d = out.data, n = src.length;
    for (p = 0, i = 0; p < n; p++, i += 4) {
      var g = lut[src[p]];
      d[i] = g; d[i + 1] = g; d[i + 2] = g; d[i + 3] = 255;
    }
    this.view.getContext("2d").putImageData(out, 0, 0);
    this._draw();
  };

  CxrViewer.prototype._draw = function () {
    var self = this;
    if (this.pendingDraw) { return; }
    this.pendingDraw = true;
    requestAnimationFrame(function () { self.pendingDraw = false; self._paint(); });
  };

  CxrViewer.prototype._paint = function () {
    var dpr = window.devicePixelRatio || 1, ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (this.w) {
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.imageSmoothingEnabled = this.scale < 3;  // show real pixels when zoomed far in
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(this.view, this.tx, this.ty, this.w * this.scale, this.h * this.scale);
      if (this.paintOverlay) { this.paintOverlay(ctx); }  // the ruler (reader_tools.js)
    }
    this.onChange(this.state());
  };

  CxrViewer.prototype._resize = function () {
    var r = this.stage.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(r.width * dpr));
    this.canvas.height = Math.max(1, Math.round(r.height * dpr));
    this.canvas.style.width = r.width + "px";
    this.canvas.style.height = r.height + "px";
    if (this.fitted) { this.fit(); } else { this._draw(); }
  };

  // Stage (CSS px) <-> image pixel coordinates.
  CxrViewer.prototype.toImage = function (x, y) { return [(x - this.tx) / this.scale, (y - this.ty) / this.scale]; };
  CxrViewer.prototype.toStage = function (ix, iy) { return [this.tx + ix * this.scale, this.ty + iy * this.scale]; };

  // --- mouse, pen and touch ------------------------------------------------------------------------
  CxrViewer.prototype._bind = function () {
    var self = this, c = this.canvas;
    c.addEventListener("contextmenu", function (e) { e.preventDefault(); });
    c.addEventListener("pointerdown", function (e) {
      var wl = e.button === 2 || e.shiftKey || (self.wlMode && e.button === 0);
      // Ruler mode: a plain left-drag measures; right-drag and Shift-drag still set window/level.
      var measure = self.rulerMode && e.button === 0 && !e.shiftKey;
      self.drag = { x: e.clientX, y: e.clientY, wl: wl && !measure, measure: measure, id: e.pointerId };
      c.setPointerCapture(e.pointerId);
      if (measure) {
        var r = c.getBoundingClientRect(), p = self.toImage(e.clientX - r.left, e.clientY - r.top);
        self.ruler = { x0: p[0], y0: p[1], x1: p[0], y1: p[1] };
        self._draw();
      } else { c.classList.add(wl ? "is-wl" : "is-panning"); }
      e.preventDefault();
    });
    c.addEventListener("pointermove", function (e) {
      var d = self.drag;
      if (!d || d.id !== e.pointerId) { return; }
      var dx = e.clientX - d.x, dy = e.clientY - d.y;
      d.x = e.clientX; d.y = e.clientY;
      if (d.measure) {
        var r = c.getBoundingClientRect(), p = self.toImage(e.clientX - r.left, e.clientY - r.top);
        self.ruler.x1 = p[0]; self.ruler.y1 = p[1];
        self._draw();
      } else if (d.wl) {
        // Radiology convention: horizontal drag = window width (contrast), vertical = level (brightness).
        self.windowLevel(dx, -dy);
      } else {
        self.tx += dx; self.ty += dy; self.fitted = false; self._draw();
      }
    });
    function end(e) {
      if (self.drag && self.drag.id === e.pointerId) {
        self.drag = null;
        c.classList.remove("is-wl", "is-panning");
      }
    }
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    c.addEventListener("wheel", function (e) {
      e.preventDefault();
      var r = c.getBoundingClientRect();
      self.zoomAt(Math.pow(1.0015, -e.deltaY), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    c.addEventListener("dblclick", function () { self.fit(); });
  };

  window.CxrViewer = CxrViewer;
})();
