/* The command palette: Ctrl-K / Cmd-K or the header button opens a modal dialog whose input is an
 * ARIA combobox over a listbox of results fetched from the server as the person types.
 * Keyboard: Up/Down/Home/End move the active option (aria-activedescendant), Enter opens it,
 * Escape closes, Tab stays inside the dialog; focus returns to where it was on close. A polite
 * live region announces how many results there are. No inline script (the CSP allows 'self'). */
(function () {
  "use strict";
  var opener = document.getElementById("palette-open");
  var dialog = document.getElementById("palette");
  if (!opener || !dialog || typeof dialog.showModal !== "function") return;
  var input = document.getElementById("palette-input");
  var list = document.getElementById("palette-results");
  var status = document.getElementById("palette-status");
  var url = opener.getAttribute("data-palette-url");
  var results = [];
  var active = -1;
  var returnTo = null;
  var timer = null;
  var pending = null;
  var asked = "";

  function open() {
    if (dialog.open) return;
    returnTo = document.activeElement;
    dialog.showModal();
    input.setAttribute("aria-expanded", results.length ? "true" : "false");
    input.focus();
    input.select();
  }

  function close() {
    if (dialog.open) dialog.close();
  }

  dialog.addEventListener("close", function () {
    input.setAttribute("aria-expanded", "false");
    if (returnTo && typeof returnTo.focus === "function") returnTo.focus();
    returnTo = null;
  });

  function setActive(index) {
    var options = list.querySelectorAll("[role=option]");
    if (!options.length) {
      active = -1;
      input.removeAttribute("aria-activedescendant");
      return;
    }
    active = (index + options.length) % options.length;
    options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === active ? "true" : "false");
    });
    input.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  }

  function render(data) {
    results = data.results || [];
    list.textContent = "";
    results.forEach(function (result, i) {
      var item = document.createElement("li");
      item.id = "palette-option-" + i;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.className = "palette-option palette-" + result.kind;
      var title = document.createElement("span");
      title.className = "palette-title";
      title.textContent = result.title;
      var detail = document.createElement("span");
      detail.className = "palette-detail";
      detail.textContent = result.detail;
      item.appendChild(title);
      item.appendChild(detail);
      item.addEventListener("click", function () { go(i); });
      list.appendChild(item);
    });
    input.setAttribute("aria-expanded", results.length ? "true" : "false");
    setActive(results.length ? 0 : -1);
    var count = results.length === 1 ? "1 result" : results.length + " results";
    status.textContent = (data.error || (count + (data.message ? ". " + data.message : ""))).trim();
  }

  function ask() {
    var q = input.value.trim();
    if (q === asked) return;
    asked = q;
    if (pending) pending.abort();
    if (!q) {
      render({ results: [] });
      status.textContent = "";
      return;
    }
    pending = new AbortController();  // only the answer is announced, not every keystroke
    fetch(url + "?q=" + encodeURIComponent(q), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: pending.signal,
    })
      .then(function (response) {
        if (response.redirected || !(response.headers.get("Content-Type") || "").startsWith("application/json")) {
          return { results: [], error: "Your session ended: log in again." };
        }
        return response.json();
      })
      .then(render)
      .catch(function (error) {
        if (error.name !== "AbortError") render({ results: [], error: "The search failed; try again." });
      });
  }

  function go(index) {
    var result = results[index];
    if (result && result.url) window.location.assign(result.url);
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 150);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") { setActive(active + 1); event.preventDefault(); }
    else if (event.key === "ArrowUp") { setActive(active - 1); event.preventDefault(); }
    else if (event.key === "Home" && results.length) { setActive(0); event.preventDefault(); }
    else if (event.key === "End" && results.length) { setActive(results.length - 1); event.preventDefault(); }
    else if (event.key === "Enter") {
      event.preventDefault();
      if (input.value.trim() !== asked) { clearTimeout(timer); ask(); return; }
      if (active >= 0) go(active);
    }
  });

  // Focus stays in the dialog: Tab and Shift-Tab cycle through what it holds.
  dialog.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") return;
    var focusable = dialog.querySelectorAll("input, button, a[href], [tabindex]:not([tabindex='-1'])");
    var first = focusable[0];
    var last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) { last.focus(); event.preventDefault(); }
    else if (!event.shiftKey && document.activeElement === last) { first.focus(); event.preventDefault(); }
  });

  // A click on the backdrop (outside the dialog's box) closes it, as Escape does.
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog) close();
  });

  opener.addEventListener("click", open);
  document.getElementById("palette-close").addEventListener("click", close);
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "k" || event.key === "K")) {
      event.preventDefault();
      if (dialog.open) close(); else open();
    }
  });
})();
