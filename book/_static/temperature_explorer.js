/* The temperature explorer of chapter 5: softmax(z / T), its entropy, and the tokens that top-k
   and top-p (nucleus) sampling keep, recomputed in the page whenever a control moves.
   No framework and no network: the chapter's code cell writes
     <div class="temperature-explorer" data-tokens='[...]' data-logits='[...]' data-k="3"
          data-p="0.9" data-context="..."></div>
   and this script builds the controls inside it. The rules are those of softmax_course:
   softmax subtracts the maximum, entropy uses 0 log 0 = 0, and ties are kept whole (a token is
   in the top-k set when fewer than k logits are strictly larger, and in the nucleus when the
   tokens strictly more probable hold less than p of the mass). The browser test
   tests/browser/test_temperature_explorer.py checks the numbers against the library. */
(function () {
  "use strict";

  var LOG10_T_MIN = -1.3; // T from about 0.05 ...
  var LOG10_T_MAX = 1.3; // ... to about 20, evenly on a log scale

  function softmax(logits, temperature) {
    var top = Math.max.apply(null, logits);
    var weights = logits.map(function (z) { return Math.exp((z - top) / temperature); });
    var total = weights.reduce(function (a, b) { return a + b; }, 0);
    return weights.map(function (w) { return w / total; });
  }

  function entropy(probs) {
    return probs.reduce(function (h, p) { return p > 0 ? h - p * Math.log(p) : h; }, 0);
  }

  function topKMask(logits, k) {
    return logits.map(function (zi) {
      var larger = logits.filter(function (zj) { return zj > zi; }).length;
      return larger < k;
    });
  }

  function topPMask(probs, mass) {
    // Most probable first; a run of equal probabilities shares the mass before its first member.
    var order = probs.map(function (_, i) { return i; });
    order.sort(function (a, b) { return probs[b] - probs[a] || a - b; });
    var before = new Array(probs.length);
    var running = 0;
    var runStartMass = 0;
    order.forEach(function (token, rank) {
      if (rank === 0 || probs[token] !== probs[order[rank - 1]]) { runStartMass = running; }
      before[token] = runStartMass;
      running += probs[token];
    });
    return probs.map(function (p, i) { return p > 0 && (mass >= 1 || before[i] < mass); });
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function build(root, index) {
    var tokens = JSON.parse(root.dataset.tokens);
    var logits = JSON.parse(root.dataset.logits);
    var K = logits.length;
    var prefix = "temperature-explorer-" + index + "-";

    root.setAttribute("role", "group");
    root.setAttribute("aria-label", "Temperature explorer");
    var context = element("p", { "class": "te-context" });
    context.append("Next token after \u201c" + (root.dataset.context || "") + " \u2026\u201d");
    root.appendChild(context);

    var controls = element("div", { "class": "te-controls" });
    function control(id, labelText, input, output) {
      var wrapper = element("div", { "class": "te-control" });
      var label = element("label", { "for": prefix + id }, labelText);
      input.id = prefix + id;
      wrapper.append(label, input, output);
      controls.appendChild(wrapper);
    }
    var temperatureInput = element("input", {
      type: "range", min: LOG10_T_MIN, max: LOG10_T_MAX, step: "0.01", value: "0",
      "class": "te-temperature", "aria-describedby": prefix + "t-value",
    });
    var temperatureOutput = element("output", { id: prefix + "t-value", "class": "te-t-value" });
    control("t", "temperature T", temperatureInput, temperatureOutput);
    var kInput = element("input", {
      type: "number", min: "1", max: String(K), step: "1", value: root.dataset.k || "3",
      "class": "te-k",
    });
    control("k", "top-k: k", kInput, element("span"));
    var pInput = element("input", {
      type: "range", min: "0.05", max: "1", step: "0.01", value: root.dataset.p || "0.9",
      "class": "te-p", "aria-describedby": prefix + "p-value",
    });
    var pOutput = element("output", { id: prefix + "p-value", "class": "te-p-value" });
    control("p", "top-p: p", pInput, pOutput);
    root.appendChild(controls);

    var table = element("table", { "class": "te-table" });
    var head = element("tr");
    [["token", 1], ["logit z", 1], ["softmax(z / T)", 2], ["top-k", 1], ["top-p", 1]]
      .forEach(function (column) {
        head.appendChild(element("th", { scope: "col", colspan: column[1] }, column[0]));
      });
    table.appendChild(element("thead")).appendChild(head);
    var body = table.appendChild(element("tbody"));
    var rows = tokens.map(function (token, i) {
      var row = element("tr", { "class": "te-row", "data-token": token });
      var bar = element("span", { "class": "te-bar", "aria-hidden": "true" });
      var barCell = element("td", { "class": "te-bar-cell" });
      barCell.appendChild(bar);
      var cells = {
        probability: element("td", { "class": "te-probability" }),
        topK: element("td", { "class": "te-in-top-k" }),
        topP: element("td", { "class": "te-in-top-p" }),
      };
      row.append(element("th", { scope: "row" }, token),
                 element("td", { "class": "te-logit" }, logits[i].toFixed(2)),
                 barCell, cells.probability, cells.topK, cells.topP);
      body.appendChild(row);
      return { row: row, bar: bar, cells: cells };
    });
    root.appendChild(table);

    var summary = element("div", { "class": "te-summary", "aria-live": "polite" });
    var entropyLine = element("p", { "class": "te-entropy" });
    var topKLine = element("p", { "class": "te-top-k-set" });
    var topPLine = element("p", { "class": "te-top-p-set" });
    summary.append(entropyLine, topKLine, topPLine);
    root.appendChild(summary);

    function names(mask) {
      return tokens.filter(function (_, i) { return mask[i]; });
    }

    function update() {
      var temperature = Math.pow(10, Number(temperatureInput.value));
      var k = Math.min(K, Math.max(1, Math.round(Number(kInput.value) || 1)));
      var mass = Number(pInput.value);
      var probs = softmax(logits, temperature);
      var h = entropy(probs);
      var inTopK = topKMask(logits, k);
      var inTopP = topPMask(probs, mass);

      root.dataset.temperature = String(temperature);
      root.dataset.entropy = String(h);
      root.dataset.kValue = String(k);
      root.dataset.pValue = String(mass);
      temperatureOutput.textContent = temperature.toPrecision(3);
      pOutput.textContent = mass.toFixed(2);
      rows.forEach(function (r, i) {
        r.row.dataset.probability = String(probs[i]);
        r.row.dataset.inTopK = String(inTopK[i]);
        r.row.dataset.inTopP = String(inTopP[i]);
        r.row.classList.toggle("te-kept", inTopP[i]);
        r.bar.style.width = (100 * probs[i]).toFixed(2) + "%";
        r.cells.probability.textContent = probs[i].toFixed(4);
        r.cells.topK.textContent = inTopK[i] ? "\u2713" : "";
        r.cells.topP.textContent = inTopP[i] ? "\u2713" : "";
      });
      entropyLine.textContent = "entropy H = " + h.toFixed(4) + " nats (at most log " + K +
        " = " + Math.log(K).toFixed(4) + ")";
      var keptK = names(inTopK);
      var keptP = names(inTopP);
      topKLine.textContent = "top-k set (k = " + k + "): " + keptK.join(", ") + " (" +
        keptK.length + " tokens)";
      topPLine.textContent = "nucleus (p = " + mass.toFixed(2) + "): " + keptP.join(", ") +
        " (" + keptP.length + " tokens)";
    }

    [temperatureInput, kInput, pInput].forEach(function (input) {
      input.addEventListener("input", update);
      input.addEventListener("change", update);
    });
    update();
    root.dataset.ready = "true";
  }

  function addStylesheet() {
    var script = document.querySelector('script[src*="temperature_explorer.js"]');
    if (!script || document.querySelector('link[href*="temperature_explorer.css"]')) { return; }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = new URL("temperature_explorer.css", script.src).href;
    document.head.appendChild(link);
  }

  function init() {
    addStylesheet();
    document.querySelectorAll(".temperature-explorer:not([data-ready])").forEach(build);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
