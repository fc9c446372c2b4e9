/*
 * Times in the reader's time zone (issue 17). Every time on a page is a
 * <time datetime="…Z" data-local="minute|second"> whose text is UTC, right without JavaScript.
 * This script rewrites the text into the browser's own time zone (with the zone's name, so
 * nobody mistakes it for UTC) and keeps the UTC text as the element's title.
 *
 * Other scripts that change a time in place (the QR code's expiry on rotation) set a new
 * datetime and UTC text and call window.twofoldLocalTime(element) again.
 *
 * Loaded from /assets (CSP script-src 'self'); no inline script.
 */
(function () {
  'use strict';

  function localize(element) {
    var at = new Date(element.getAttribute('datetime'));
    if (isNaN(at.getTime())) return;
    var precision = element.getAttribute('data-local');
    var options = { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' };
    if (precision !== 'clock') {
      options.year = 'numeric';
      options.month = 'short';
      options.day = 'numeric';
    }
    if (precision !== 'minute') options.second = '2-digit';
    var utc = element.getAttribute('data-utc') || element.textContent;
    element.setAttribute('data-utc', utc);
    element.setAttribute('title', utc);
    try {
      element.textContent = new Intl.DateTimeFormat(undefined, options).format(at);
    } catch (error) {
      // An old browser without Intl keeps the UTC text, which is right.
    }
  }

  window.twofoldLocalTime = function (element) {
    element.removeAttribute('data-utc');
    localize(element);
  };

  var times = document.querySelectorAll('time[data-local]');
  for (var i = 0; i < times.length; i++) localize(times[i]);
})();
