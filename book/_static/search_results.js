// Two changes to Sphinx's search page (searchtools.js), made by wrapping its functions.
//
// Snippets: a result quotes the text of its page, taken from the page's HTML, where maths is
// still TeX source ("\(2 \times 2\)"); MathJax only typesets it on the page itself. The maths
// of a snippet becomes readable text: the delimiters go, common commands become their symbols,
// other commands and grouping braces are dropped. The print-only copy of the page's title and
// contents (sphinx-book-theme's .onlyprint block) is left out of the snippet.
//
// Ranking: a page whose title holds the query ("3. The Jacobian" for "Jacobian") is listed
// before pages that only mention it, and the page's own top section ("3. The Jacobian > The
// Jacobian") is not listed a second time.
"use strict";

(() => {
  const SYMBOLS = {
    times: "×", cdot: "·", cdots: "⋯", dots: "…", ldots: "…", le: "≤", leq: "≤", ge: "≥",
    geq: "≥", ne: "≠", neq: "≠", approx: "≈", to: "→", rightarrow: "→", mapsto: "↦",
    infty: "∞", sum: "∑", prod: "∏", partial: "∂", nabla: "∇", in: "∈", mid: "|",
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε", eta: "η",
    theta: "θ", lambda: "λ", mu: "μ", pi: "π", sigma: "σ", tau: "τ", phi: "φ", varphi: "φ",
    psi: "ψ", omega: "ω", Delta: "Δ", Sigma: "Σ", log: "log", exp: "exp", max: "max",
    min: "min", top: "ᵀ", quad: " ", qquad: "  ", oplus: "⊕", odot: "⊙", sqrt: "√",
  };

  function texToText(tex) {
    return tex
      .replace(/\^\s*\\top\b/g, "ᵀ")
      .replace(/\\(?:operatorname|mathrm|mathbf|boldsymbol|text|mathbb|mathcal)\s*/g, "")
      .replace(/\\([A-Za-z]+)/g, (match, name) => (name in SYMBOLS ? SYMBOLS[name] : ""))
      .replace(/\\[,;:! ]/g, " ")
      .replace(/[{}]/g, "")
      .replace(/\s+/g, " ")
      .trim();
  }

  function mathToText(text) {
    return text
      .replace(/\\\(([\s\S]*?)\\\)/g, (match, tex) => texToText(tex))
      .replace(/\\\[([\s\S]*?)\\\]/g, (match, tex) => texToText(tex))
      .replace(/\$\$([\s\S]*?)\$\$/g, (match, tex) => texToText(tex));
  }

  function withoutPrintCopy(htmlString) {
    const page = new DOMParser().parseFromString(htmlString, "text/html");
    page
      .querySelectorAll(".onlyprint, .bd-header-article")
      .forEach((element) => element.remove());
    return page.documentElement.outerHTML;
  }

  // Titles in the index are HTML: '<span class="section-number">3. </span>The Jacobian'.
  const plain = (title) => title.replace(/<[^>]*>/g, "");
  const unnumbered = (title) => plain(title).replace(/^\d+(\.\d+)*\.\s+/, "");

  // Results come as [docname, title, anchor, description, score, filename], best last.
  function rerank(query, results) {
    const isTopSection = (result) => {
      const [page, section] = result[1].split(" > ");
      return section !== undefined && section === unnumbered(page);
    };
    const pages = new Set(results.filter((r) => !isTopSection(r) && r[2] === "").map((r) => r[0]));
    const kept = results.filter((result) => !(isTopSection(result) && pages.has(result[0])));
    const wanted = query.toLowerCase().trim();
    const titled = (result) => plain(result[1].split(" > ")[0]).toLowerCase().includes(wanted);
    return [...kept.filter((r) => !titled(r)), ...kept.filter(titled)];
  }

  function patch() {
    if (typeof Search === "undefined" || Search.courseResults) {
      return;
    }
    const htmlToText = Search.htmlToText;
    Search.htmlToText = (htmlString, anchor) =>
      mathToText(htmlToText(withoutPrintCopy(htmlString), anchor)).replace(/\s+/g, " ");
    const performSearch = Search._performSearch;
    Search._performSearch = (query, ...rest) => rerank(query, performSearch(query, ...rest));
    Search.courseResults = true;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", patch);
  } else {
    patch();
  }
})();
