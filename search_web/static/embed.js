/* 會議逐字稿搜尋: a search box for intranet pages.
 *
 *   <script src="https://search.example.org/static/embed.js" defer></script>
 *   <div data-civic-search data-limit="5"></div>
 *
 * Every element with data-civic-search becomes a search box whose results come from this
 * server's /api/search (the page's origin must be in the server's EMBED_ORIGINS for CORS).
 * The server address is taken from this script's own src, so a URL prefix just works.
 * Everything from the API is inserted as text: snippets are split on <mark>…</mark>, unescaped
 * and written with textContent, never parsed as HTML.
 * Options: data-limit (1–20 results, default 5), data-query (search at once), data-placeholder.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    var candidates = document.querySelectorAll('script[src*="embed.js"]');
    script = candidates[candidates.length - 1];
  }
  if (!script || !script.src) return;
  var base = script.src.replace(/\/static\/embed\.js(?:[?#].*)?$/, "");
  var counter = 0;

  var ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

  function unescapeHtml(text) {
    return text.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, function (whole, name) {
      if (name.charAt(0) === "#") {
        var code = name.charAt(1).toLowerCase() === "x" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return Object.prototype.hasOwnProperty.call(ENTITIES, name) ? ENTITIES[name] : whole;
    });
  }

  /* Append an escaped snippet with <mark> around matches as text nodes and <mark> elements. */
  function appendSnippet(parent, snippet) {
    String(snippet || "").split(/<mark>|<\/mark>/).forEach(function (part, i) {
      var text = unescapeHtml(part);
      if (!text) return;
      if (i % 2 === 1) {
        var mark = document.createElement("mark");
        mark.textContent = text;
        parent.appendChild(mark);
      } else {
        parent.appendChild(document.createTextNode(text));
      }
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function addStylesheet() {
    if (document.getElementById("civic-search-style")) return;
    var link = document.createElement("link");
    link.id = "civic-search-style";
    link.rel = "stylesheet";
    link.href = base + "/static/embed.css";
    (document.head || document.documentElement).appendChild(link);
  }

  function meetingUrl(hit, query) {
    return base + "/meetings/" + encodeURIComponent(hit.meeting_id) + "?q=" + encodeURIComponent(query) + "#turn-" + hit.turn;
  }

  function setup(container) {
    if (container.getAttribute("data-civic-search-ready")) return;
    container.setAttribute("data-civic-search-ready", "1");
    var id = "civic-search-" + (++counter);
    var limit = parseInt(container.getAttribute("data-limit") || "5", 10);
    if (!(limit >= 1 && limit <= 20)) limit = 5;

    var box = el("div", "civic-search");
    var form = el("form", "civic-search-form");
    form.setAttribute("role", "search");
    var label = el("label", "civic-search-label", "搜尋會議逐字稿");
    label.htmlFor = id + "-q";
    var input = el("input", "civic-search-input");
    input.type = "search";
    input.id = id + "-q";
    input.name = "q";
    input.autocomplete = "off";
    input.placeholder = container.getAttribute("data-placeholder") || "例如：淨零排碳";
    var button = el("button", "civic-search-button", "搜尋");
    button.type = "submit";
    var row = el("div", "civic-search-row");
    row.appendChild(input);
    row.appendChild(button);
    form.appendChild(label);
    form.appendChild(row);
    var status = el("p", "civic-search-status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var list = el("ol", "civic-search-results");
    var more = el("p", "civic-search-more");
    box.appendChild(form);
    box.appendChild(status);
    box.appendChild(list);
    box.appendChild(more);
    container.appendChild(box);

    var latest = 0;

    function clear() {
      while (list.firstChild) list.removeChild(list.firstChild);
      while (more.firstChild) more.removeChild(more.firstChild);
    }

    function render(data, query) {
      clear();
      status.textContent = data.total + " 段發言，" + data.meetings + " 場會議";
      (data.hits || []).forEach(function (hit) {
        var item = el("li", "civic-search-hit");
        var head = el("p", "civic-search-head");
        var link = el("a", "civic-search-title", hit.title || "（無標題）");
        link.href = meetingUrl(hit, query);
        link.target = "_blank";
        link.rel = "noopener";
        head.appendChild(link);
        head.appendChild(el("span", "civic-search-meta", [hit.date || "日期不詳", hit.speaker || "（未標示發言人）"].join("・")));
        var snippet = el("p", "civic-search-snippet");
        appendSnippet(snippet, hit.snippet);
        item.appendChild(head);
        item.appendChild(snippet);
        list.appendChild(item);
      });
      if (data.total > (data.hits || []).length) {
        var all = el("a", null, "查看全部 " + data.total + " 段發言");
        all.href = base + "/search?q=" + encodeURIComponent(query);
        all.target = "_blank";
        all.rel = "noopener";
        more.appendChild(all);
        more.appendChild(document.createTextNode("・"));
      }
      /* E-mail alerts and the Atom feed are offered on the site's own page. */
      var follow = el("a", "civic-search-subscribe", "訂閱這個搜尋");
      follow.href = base + "/alerts/subscribe?q=" + encodeURIComponent(query);
      follow.target = "_blank";
      follow.rel = "noopener";
      more.appendChild(follow);
    }

    function search(query) {
      var mine = ++latest;
      clear();
      if (!query) { status.textContent = ""; return; }
      status.textContent = "搜尋中…";
      var url = base + "/api/search?q=" + encodeURIComponent(query) + "&limit=" + limit;
      fetch(url, { mode: "cors", credentials: "omit" })
        .then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        })
        .then(function (result) {
          if (mine !== latest) return;
          if (!result.ok) {
            status.textContent = "無法搜尋：" + ((result.data && result.data.error) || "錯誤");
            return;
          }
          render(result.data, query);
        })
        .catch(function () {
          if (mine !== latest) return;
          status.textContent = "無法連線到搜尋服務。";
        });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      search(input.value.trim());
    });

    var initial = container.getAttribute("data-query");
    if (initial) {
      input.value = initial;
      search(initial.trim());
    }
  }

  function init() {
    addStylesheet();
    var containers = document.querySelectorAll("[data-civic-search]");
    for (var i = 0; i < containers.length; i++) setup(containers[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
