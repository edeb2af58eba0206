// Figures follow the light/dark theme. The course's figures (softmax_course/plotting.py) are
// drawn in near-black ink on a transparent background, except those with a heatmap, which are
// opaque white cards: their colours are their data. This script marks each transparent figure
// (its top-left pixel is see-through) with the class "follows-theme"; in dark mode course.css
// inverts the lightness of those, so their ink is light on the dark page, and shows the cards
// as they are. Over a file:// URL the browser will not let a script read an image's pixels;
// every figure is then marked, so no ink is lost on the dark page.
"use strict";

(() => {
  function isTransparent(img) {
    const canvas = document.createElement("canvas");
    canvas.width = 1;
    canvas.height = 1;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0, 1, 1, 0, 0, 1, 1);
    try {
      return context.getImageData(0, 0, 1, 1).data[3] < 255;
    } catch (error) {
      return true;
    }
  }

  function mark(img) {
    img.classList.toggle("follows-theme", isTransparent(img));
  }

  function start() {
    document.querySelectorAll(".bd-content div.cell_output img").forEach((img) => {
      if (img.complete && img.naturalWidth > 0) {
        mark(img);
      } else {
        img.addEventListener("load", () => mark(img), { once: true });
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
