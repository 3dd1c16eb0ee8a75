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
    button.textContent = "\u29c9"; // two joined squares
    button.addEventListener("click", function (event) {
      event.preventDefault();
      copyText(whole).then(
        function () {
          button.textContent = "\u2713";
          button.setAttribute("aria-label", "Copied " + whole);
        },
        function () {
          button.textContent = "!";
          button.setAttribute("aria-label", "Could not copy; the id is " + whole);
        }
      );
      window.setTimeout(function () {
        button.textContent = "\u29c9";
        button.setAttribute("aria-label", "Copy " + whole);
      }, 2000);
    });
    (element.closest("a") || element).after(button);
  }

  document.querySelectorAll("[data-copy]").forEach(addButton);
})();
