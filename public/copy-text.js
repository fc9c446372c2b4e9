/*
 * "Copy" and "Print" buttons (issue 17): the authenticator key on the QR page, the recovery
 * codes. The buttons come hidden in the page (without JavaScript they could do nothing, and the
 * text they copy is plain selectable text); this script shows them and makes them work.
 *
 * <button data-copy="ID" [data-copy-without-spaces]> copies the text of element ID (an <ol>'s
 * items one per line) and says "Copied" in <span data-copy-status="ID" role="status">.
 * <button data-print> opens the browser's print dialog (the print stylesheet shows only the codes).
 *
 * Loaded from /assets (CSP script-src 'self'); no inline script, no inline handlers.
 */
(function () {
  'use strict';

  function textOf(target, withoutSpaces) {
    var items = target.querySelectorAll('li');
    var text = items.length > 0
      ? Array.prototype.map.call(items, function (item) { return item.textContent.trim(); }).join('\n')
      : target.textContent.trim();
    return withoutSpaces ? text.replace(/\s+/g, '') : text;
  }

  function say(id, text) {
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (status) status.textContent = text;
  }

  /** Without the Clipboard API (an http:// page other than localhost): select the text so Ctrl+C copies it. */
  function selectText(target) {
    var range = document.createRange();
    range.selectNodeContents(target);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copy(button) {
    var id = button.getAttribute('data-copy');
    var target = document.getElementById(id);
    if (!target) return;
    var text = textOf(target, button.hasAttribute('data-copy-without-spaces'));
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { say(id, 'Copied.'); },
        function () { selectText(target); say(id, 'Selected: press Ctrl+C (⌘C on a Mac) to copy.'); }
      );
    } else {
      selectText(target);
      say(id, 'Selected: press Ctrl+C (⌘C on a Mac) to copy.');
    }
  }

  var copyButtons = document.querySelectorAll('button[data-copy]');
  for (var i = 0; i < copyButtons.length; i++) {
    copyButtons[i].hidden = false;
    copyButtons[i].addEventListener('click', function (event) { copy(event.currentTarget); });
  }
  var printButtons = document.querySelectorAll('button[data-print]');
  for (var j = 0; j < printButtons.length; j++) {
    printButtons[j].hidden = false;
    printButtons[j].addEventListener('click', function () { window.print(); });
  }
})();
