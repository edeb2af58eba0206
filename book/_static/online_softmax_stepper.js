/*
 * Step-through of the online-softmax recurrence (Chapter 8), computed in the page: no kernel, no
 * network, no framework.
 *
 * Every element <div class="online-softmax-stepper" data-logits="[x1, x2, ...]"> becomes a
 * widget. The reader steps through the logits one at a time (buttons, or the slider and its
 * arrow keys) and sees, after element j, the running maximum m_j, the rescaling factor
 * exp(m_{j-1} - m_j) applied to the old sum, the running sum d_j and the softmax of the first j
 * logits, exactly as in equation (eq-online-recurrence):
 *
 *   m_j = max(m_{j-1}, x_j),   d_j = d_{j-1} exp(m_{j-1} - m_j) + exp(x_j - m_j),
 *
 * from the empty state m_0 = -inf, d_0 = 0. Each shown number also carries its full-precision
 * value in a data-value attribute, which the browser test compares with
 * softmax_course.OnlineSoftmaxState.
 */
(function () {
  "use strict";

  // exp(x - m) for x <= m, with m = -inf (nothing seen yet) giving 0 instead of exp(NaN): the
  // guard of softmax_course._numerics.exp_shifted.
  function expShifted(x, m) {
    return Math.exp(x - (m === -Infinity ? 0 : m));
  }

  // states[j] is the state after j logits; states[0] is the empty state.
  function runRecurrence(logits) {
    var states = [{ max: -Infinity, sum: 0, rescale: NaN }];
    logits.forEach(function (x) {
      var previous = states[states.length - 1];
      var max = Math.max(previous.max, x);
      var rescale = expShifted(previous.max, max);
      states.push({ max: max, sum: previous.sum * rescale + expShifted(x, max),
                    rescale: rescale });
    });
    return states;
  }

  function format(value) {
    if (value === -Infinity) { return "\u2212\u221e"; }
    if (Number.isNaN(value)) { return "\u2014"; }
    return value.toFixed(4).replace("-", "\u2212");
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function setNumber(node, value) {
    node.textContent = format(value);
    node.setAttribute("data-value", String(value));
  }

  function build(root) {
    var logits = JSON.parse(root.getAttribute("data-logits"));
    var states = runRecurrence(logits);
    var K = logits.length;
    root.textContent = "";

    var controls = element("div", "oss-controls");
    var buttons = {};
    [["reset", "\u00ab Start"], ["back", "\u2039 Back"], ["next", "Next \u203a"],
     ["end", "End \u00bb"]].forEach(function (pair) {
      var button = element("button", "oss-button", pair[1]);
      button.type = "button";
      button.setAttribute("data-action", pair[0]);
      buttons[pair[0]] = button;
      controls.appendChild(button);
    });
    var slider = element("input", "oss-slider");
    slider.type = "range";
    slider.min = "0";
    slider.max = String(K);
    slider.step = "1";
    slider.setAttribute("aria-label", "number of logits read");
    controls.appendChild(slider);
    root.appendChild(controls);

    // The logits, the ones read so far marked, with the softmax of the first j below them.
    var table = element("table", "oss-elements");
    var head = table.createTHead().insertRow();
    var valueRow = table.createTBody().insertRow();
    var probabilityRow = table.tBodies[0].insertRow();
    head.appendChild(element("th", "", "i"));
    valueRow.appendChild(element("th", "", "x\u1d62"));
    var probabilityHeader = element("th", "");
    probabilityHeader.title = "the softmax of the logits read so far";
    probabilityRow.appendChild(probabilityHeader);
    var valueCells = [];
    var probabilityCells = [];
    logits.forEach(function (x, i) {
      head.appendChild(element("th", "", String(i + 1)));
      var cell = element("td", "oss-logit");
      setNumber(cell, x);
      valueRow.appendChild(cell);
      valueCells.push(cell);
      var probability = element("td", "oss-probability");
      probability.setAttribute("data-quantity", "probability");
      probabilityRow.appendChild(probability);
      probabilityCells.push(probability);
    });
    var tableScroller = element("div", "oss-scroll");
    tableScroller.appendChild(table);
    root.appendChild(tableScroller);

    // The state after step j.
    var state = element("dl", "oss-state");
    var fields = {};
    [["step", "step j"], ["element", "element read, x\u2c7c"],
     ["previous-max", "previous maximum, m\u2c7c\u208b\u2081"], ["max", "running maximum, m\u2c7c"],
     ["rescale", "rescaling factor, e^(m\u2c7c\u208b\u2081 \u2212 m\u2c7c)"],
     ["sum", "running sum, d\u2c7c"]].forEach(function (pair) {
      var term = element("dt", "", pair[1]);
      var definition = element("dd", "");
      definition.setAttribute("data-quantity", pair[0]);
      state.appendChild(term);
      state.appendChild(definition);
      fields[pair[0]] = definition;
    });
    root.appendChild(state);
    var explanation = element("p", "oss-explanation");
    explanation.setAttribute("aria-live", "polite");
    root.appendChild(explanation);

    function show(j) {
      j = Math.max(0, Math.min(K, j));
      var now = states[j];
      var before = states[Math.max(0, j - 1)];
      slider.value = String(j);
      root.setAttribute("data-step", String(j));
      fields.step.textContent = j + " of " + K;
      fields.step.setAttribute("data-value", String(j));
      if (j === 0) {
        fields.element.textContent = "\u2014";
        fields.element.setAttribute("data-value", "NaN");
        setNumber(fields["previous-max"], NaN);
      } else {
        setNumber(fields.element, logits[j - 1]);
        setNumber(fields["previous-max"], before.max);
      }
      setNumber(fields.max, now.max);
      setNumber(fields.rescale, now.rescale);
      setNumber(fields.sum, now.sum);
      probabilityHeader.textContent = "softmax";
      logits.forEach(function (x, i) {
        var read = i < j;
        valueCells[i].classList.toggle("oss-read", read);
        valueCells[i].classList.toggle("oss-current", i === j - 1);
        valueCells[i].classList.toggle("oss-at-max", read && x === now.max);
        if (read) {
          setNumber(probabilityCells[i], expShifted(x, now.max) / now.sum);
        } else {
          probabilityCells[i].textContent = "";
          probabilityCells[i].removeAttribute("data-value");
        }
      });
      buttons.reset.disabled = buttons.back.disabled = j === 0;
      buttons.next.disabled = buttons.end.disabled = j === K;
      explanation.textContent = describe(j, now, before);
    }

    function describe(j, now, before) {
      if (j === 0) {
        return "Nothing read yet: the empty state, m\u2080 = \u2212\u221e and d\u2080 = 0.";
      }
      var x = format(logits[j - 1]);
      if (j === 1) {
        return "The first element sets the maximum to " + x + "; the empty sum d\u2080 = 0 " +
               "gets the factor " + format(now.rescale) + " and d\u2081 = e\u2070 = 1.";
      }
      if (now.max > before.max) {
        return "x\u2c7c = " + x + " is a new maximum: the old sum " + format(before.sum) +
               " is multiplied by e^(" + format(before.max) + " \u2212 " + format(now.max) +
               ") = " + format(now.rescale) + ", then e\u2070 = 1 is added.";
      }
      return "x\u2c7c = " + x + " does not exceed the maximum " + format(now.max) +
             ": the factor is 1 and e^(x\u2c7c \u2212 m\u2c7c) = " +
             format(expShifted(logits[j - 1], now.max)) + " is added to the sum.";
    }

    var actions = {
      reset: function () { show(0); },
      back: function () { show(Number(slider.value) - 1); },
      next: function () { show(Number(slider.value) + 1); },
      end: function () { show(K); },
    };
    Object.keys(buttons).forEach(function (name) {
      buttons[name].addEventListener("click", actions[name]);
    });
    slider.addEventListener("input", function () { show(Number(slider.value)); });
    show(0);
    root.classList.add("oss-ready");
  }

  function buildAll() {
    document.querySelectorAll(".online-softmax-stepper").forEach(build);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", buildAll);
  } else {
    buildAll();
  }
})();
