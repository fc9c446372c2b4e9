/*
 * The rotating QR code of Mobile App enrollment (PRODUCT.md §2.3 step 3).
 *
 * A pending secret lives for a limited time (policy totpEnrollmentMs). Shortly before it
 * expires this script asks the server for a new enrollment and swaps the QR code, the secret
 * shown for manual entry, the expiry and the form's hidden enrollment id in place: no reload,
 * so whatever the person has typed into "Confirm" stays where it is. The server voids the old
 * enrollment when it starts the new one, so only the code shown on screen can be confirmed.
 *
 * The timer counts the server's own "time left" (data-expires-in-ms) rather than comparing
 * clocks, so a browser whose clock is wrong still rotates on time. Without JavaScript the page
 * works too: it says to start again or reload, and confirming an expired code answers with a
 * fresh QR code. The "Open in authenticator app" link follows the QR code on rotation.
 *
 * Loaded from /assets (CSP script-src 'self'); no inline script, no inline handlers.
 */
(function () {
  'use strict';

  /** Rotate this long before expiry, so the code on screen is never one the server refuses. */
  var LEAD_MS = 5000;
  /** Never hammer the server, whatever it says about time left. */
  var MIN_DELAY_MS = 1000;

  var section = document.querySelector('[data-enrollment]');
  var form = document.getElementById('enrollment-confirm');
  if (!section || !form) return;

  var image = section.querySelector('[data-qr]');
  var secret = section.querySelector('[data-secret]');
  var expires = section.querySelector('[data-expires]');
  var codeArea = section.querySelector('[data-enrollment-code]');
  var status = section.querySelector('[data-rotation-status]');
  var openInApp = section.querySelector('[data-otpauth]');
  var note = section.querySelector('[data-rotation-note]');
  var enrollmentId = form.querySelector('input[name="enrollmentId"]');
  var csrf = form.querySelector('input[name="_csrf"]');
  var rotateURL = section.getAttribute('data-rotate-url');

  var timer = null;
  var dueAt = 0;
  var rotating = false;

  function schedule(expiresInMs) {
    var delay = Math.max(MIN_DELAY_MS, Number(expiresInMs) - LEAD_MS);
    dueAt = performance.now() + delay;
    clearTimeout(timer);
    timer = setTimeout(rotate, delay);
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  function apply(enrollment) {
    image.setAttribute('src', enrollment.qrCode);
    if (openInApp) openInApp.setAttribute('href', enrollment.otpauthURI);
    secret.textContent = enrollment.secret;
    expires.setAttribute('datetime', enrollment.expiresAt);
    expires.textContent = enrollment.expiresText;
    if (window.twofoldLocalTime) window.twofoldLocalTime(expires);
    enrollmentId.value = enrollment.enrollmentId;
    section.setAttribute('data-expires-in-ms', String(enrollment.expiresInMs));
    say('The previous QR code expired, so a new one is shown. If you have not added Twofold to your app yet, scan this one.');
  }

  /** No new code could be had (the session ended, or the password is needed again). */
  function giveUp() {
    if (codeArea) codeArea.hidden = true;
    if (openInApp) openInApp.parentNode.hidden = true;
    secret.textContent = '';
    say('This QR code has expired. Use "Start again" to get a new one.');
  }

  function rotate() {
    if (rotating) return;
    rotating = true;
    var body = new URLSearchParams();
    body.set('_csrf', csrf.value);
    fetch(rotateURL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: body.toString(),
      credentials: 'same-origin',
      // A lost session answers with a redirect to the login page: that is a failure here.
      redirect: 'error',
      cache: 'no-store',
    })
      .then(function (response) {
        if (!response.ok) throw new Error('rotation refused: ' + response.status);
        return response.json();
      })
      .then(function (enrollment) {
        apply(enrollment);
        schedule(enrollment.expiresInMs);
      })
      .catch(giveUp)
      .then(function () {
        rotating = false;
      });
  }

  // Background tabs may run timers late; catch up as soon as the page is looked at again.
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && dueAt > 0 && performance.now() >= dueAt) {
      clearTimeout(timer);
      rotate();
    }
  });

  // Without this script the page says to start again or reload; with it, that happens by itself.
  if (note) note.textContent = 'A new one appears here by itself when it expires.';

  schedule(section.getAttribute('data-expires-in-ms'));
})();
