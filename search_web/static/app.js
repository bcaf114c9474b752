/* 會議逐字稿搜尋: small enhancements; every page works without this file.
 *
 * - Meeting page: "第 k / n 筆" with previous/next buttons and the keys n / p move between the
 *   highlighted matches (<mark> in .transcript). The keys can be turned off (WCAG 2.1.4: speech
 *   input types letters too); the choice is kept in localStorage.
 * - Search form: speaker suggestions from /api/speakers while typing (the <datalist> is already
 *   filled by the server; this narrows it to what was typed).
 */
(function () {
  "use strict";

  function setupHitNav() {
    var nav = document.getElementById("hitnav");
    var marks = Array.prototype.slice.call(document.querySelectorAll(".transcript mark"));
    if (!nav || !marks.length) return;
    var status = nav.querySelector(".hitnav-pos");
    var prev = nav.querySelector('[data-hitnav="prev"]');
    var next = nav.querySelector('[data-hitnav="next"]');
    var keys = nav.querySelector('[data-hitnav="keys"]');
    var current = -1;

    marks.forEach(function (mark, i) {
      mark.setAttribute("tabindex", "-1");
      mark.setAttribute("data-hit", String(i + 1));
    });

    function turnOf(mark) {
      var el = mark;
      while (el && !(el.classList && el.classList.contains("turn"))) el = el.parentNode;
      return el;
    }

    function show(index, focus) {
      if (current >= 0) {
        marks[current].classList.remove("current");
        marks[current].removeAttribute("aria-current");
      }
      current = (index + marks.length) % marks.length;
      var mark = marks[current];
      mark.classList.add("current");
      mark.setAttribute("aria-current", "true");
      status.textContent = "第 " + (current + 1) + " / " + marks.length + " 筆";
      nav.setAttribute("data-current", String(current + 1));
      if (focus) {
        mark.focus({ preventScroll: true });
        mark.scrollIntoView({ block: "center" });
        var turn = turnOf(mark);
        if (turn && turn.id && window.history && history.replaceState) {
          history.replaceState(null, "", "#" + turn.id);
        }
      }
    }

    prev.hidden = false;
    next.hidden = false;
    prev.addEventListener("click", function () { show(current - 1, true); });
    next.addEventListener("click", function () { show(current + 1, true); });
    setupKeysSwitch(keys);

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      if (keys && !keys.checked) return;
      var target = event.target;
      var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
      if (tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable)) return;
      if (event.key === "n") {
        event.preventDefault();
        show(current + 1, true);
      } else if (event.key === "p") {
        event.preventDefault();
        show(current - 1, true);
      }
    });

    // Start at the first match of the turn named in the address (#turn-N), else the first.
    var start = 0;
    var hash = window.location.hash.slice(1);
    var target = hash ? document.getElementById(hash) : null;
    if (target) {
      for (var i = 0; i < marks.length; i++) {
        if (target.contains(marks[i])) { start = i; break; }
      }
    }
    show(start, false);
  }

  var KEYS_SETTING = "civic-search.hit-keys";

  /* The shortcut switch: shown once this script runs, remembered across pages. */
  function setupKeysSwitch(box) {
    if (!box) return;
    try {
      box.checked = window.localStorage.getItem(KEYS_SETTING) !== "off";
    } catch (e) { /* storage may be blocked: the keys stay on */ }
    box.addEventListener("change", function () {
      try {
        window.localStorage.setItem(KEYS_SETTING, box.checked ? "on" : "off");
      } catch (e) { /* not remembered, still applied */ }
    });
    box.closest("label").hidden = false;
  }

  function setupSpeakerSuggestions() {
    var input = document.querySelector("input[data-suggest-url]");
    if (!input || !window.fetch) return;
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) return;
    var url = input.getAttribute("data-suggest-url");
    var timer = null;
    var last = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var prefix = input.value.trim();
        if (prefix === last) return;
        last = prefix;
        fetch(url + "?limit=30&prefix=" + encodeURIComponent(prefix), { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (data) {
            if (!data || !Array.isArray(data.speakers)) return;
            while (list.firstChild) list.removeChild(list.firstChild);
            data.speakers.forEach(function (label) {
              var option = document.createElement("option");
              option.value = label;
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are optional */ });
      }, 200);
    });
  }

  function ready(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  ready(function () {
    setupHitNav();
    setupSpeakerSuggestions();
  });
})();
