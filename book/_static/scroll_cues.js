// Marks every box that scrolls sideways and has more to show on one side: display maths,
// code cells and their outputs, and the table of chapter 8's step-through. course.css fades such a box out on that side, so a reader
// sees that there is more, also on phones, where scrollbars stay hidden until touched.
"use strict";

(() => {
  const SELECTOR = [
    "div.math mjx-container[display='true']",
    "div.highlight pre",
    "div.cell_output .output",
    "div.cell_output pre",
    ".online-softmax-stepper .oss-scroll",
  ].join(", ");

  function mark(box) {
    const hidden = box.scrollWidth - box.clientWidth;
    box.classList.toggle("scrolls-start", hidden > 1 && box.scrollLeft > 1);
    box.classList.toggle("scrolls-end", hidden > 1 && box.scrollLeft < hidden - 1);
  }

  function watch() {
    const resized = new ResizeObserver((entries) => entries.forEach((e) => mark(e.target)));
    document.querySelectorAll(SELECTOR).forEach((box) => {
      if (box.dataset.scrollCue) {
        return;
      }
      box.dataset.scrollCue = "watched";
      box.addEventListener("scroll", () => mark(box), { passive: true });
      resized.observe(box);
      mark(box);
    });
  }

  function start() {
    watch();
    // Display maths exists only once MathJax has typeset the page.
    const mathjax = window.MathJax;
    if (mathjax && mathjax.startup && mathjax.startup.promise) {
      mathjax.startup.promise.then(watch);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  // Images and web fonts change widths once they arrive.
  window.addEventListener("load", watch);
  // A resized window or a turned phone: the ResizeObserver does not report boxes inside a
  // closed dropdown (a collapsed proof), which would otherwise open with a stale cue.
  window.addEventListener("resize", () => document.querySelectorAll(SELECTOR).forEach(mark));
  document.addEventListener("toggle", (event) => {
    event.target.querySelectorAll(SELECTOR).forEach(mark);
  }, true);
})();
