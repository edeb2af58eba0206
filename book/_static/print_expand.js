// Printing (or saving as PDF) shows every collapsed proof and answer: the sphinx-design
// dropdowns are <details> elements, which print closed unless opened. They are opened just
// before printing and closed again afterwards. (sphinx-togglebutton does the same for its own
// toggles.) python3 run.py pdf dispatches "beforeprint" itself before it prints.
"use strict";

(() => {
  window.addEventListener("beforeprint", () => {
    document.querySelectorAll("details:not([open])").forEach((details) => {
      details.dataset.closedBeforePrint = "true";
      details.open = true;
    });
  });
  window.addEventListener("afterprint", () => {
    document.querySelectorAll("details[data-closed-before-print]").forEach((details) => {
      details.open = false;
      delete details.dataset.closedBeforePrint;
    });
  });
})();
