/*
 * The formatting layer's one script (apps/core/formatting.py): every shortened id
 * (<span data-copy="the whole id">) gets a copy button beside it, or beside the link it sits in
 * (a button inside a link would follow the link). Without JavaScript the whole id stays on hover.
 */
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "copy-scratch";
      document.body.appendChild(area);
      area.select();
      const copied = document.execCommand("copy");
      area.remove();
      (copied ? resolve : reject)();
    });
  }

  function addButton(element) {
    const whole = element.dataset.copy;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy-id";
    button.setAttribute("aria-label", "Copy " + whole);
    button.title = "Copy the whole id";
    button.innerHTML = '<span class="copy-icon" aria-hidden="true"></span>';
    button.addEventListener("click", function (event) {
      event.preventDefault();
      copyText(whole).then(
        function () {
          button.classList.add("copied");
          button.setAttribute("aria-label", "Copied " + whole);
        },
        function () {
          button.classList.add("failed");
          button.setAttribute("aria-label", "Could not copy; the id is " + whole);
        }
      );
      window.setTimeout(function () {
        button.classList.remove("copied", "failed");
        button.setAttribute("aria-label", "Copy " + whole);
      }, 2000);
    });
    // The id (or its link) and its button stay on one line.
    const target = element.closest("a") || element;
    const pair = document.createElement("span");
    pair.className = "id-with-copy";
    target.replaceWith(pair);
    pair.append(target, button);
  }

  document.querySelectorAll("[data-copy]").forEach(addButton);
})();
