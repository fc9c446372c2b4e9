/*
 * Security keys in the browser (PRODUCT.md §2.9): registering one from the "Security Key" page,
 * and using one on the Verification Code page. Both call the JSON API with the page's session
 * cookie (same origin, so the browser sends our Origin and the CSRF rule for API calls holds),
 * and use @simplewebauthn/browser (loaded before this file from /assets/webauthn/) for the
 * browser prompt. Loaded from /assets (CSP script-src 'self'); no inline script or handlers.
 */
(function () {
  'use strict';
  var library = window.SimpleWebAuthnBrowser;
  // JavaScript runs: the notice that a key needs it no longer applies.
  if (library) {
    document.querySelectorAll('[data-needs-javascript]').forEach(function (notice) {
      notice.hidden = true;
    });
  }

  function showError(container, message) {
    var box = container.querySelector('[data-security-key-error]');
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
        return { status: response.status, body: parsed };
      });
    });
  }

  function failure(answer) {
    return (answer.body && answer.body.message) || 'Something went wrong. Try again.';
  }

  /** The browser's prompt was closed, timed out, or the key was refused by the browser. */
  function promptError(error) {
    if (error && error.name === 'NotAllowedError') return 'The security key prompt was closed or timed out. Try again.';
    if (error && error.name === 'InvalidStateError') return 'This security key is already registered.';
    return 'Your browser could not use the security key. Try again, or use another method.';
  }

  var registerForm = document.getElementById('security-key-register');
  if (registerForm && library) {
    registerForm.addEventListener('submit', function (event) {
      event.preventDefault();
      var name = registerForm.querySelector('input[name="name"]').value;
      var button = registerForm.querySelector('button[type="submit"]');
      button.disabled = true;
      postJSON(registerForm.dataset.optionsUrl)
        .then(function (answer) {
          if (answer.status !== 200) throw new Error(failure(answer));
          return library.startRegistration({ optionsJSON: answer.body.options }).catch(function (error) {
            throw new Error(promptError(error));
          });
        })
        .then(function (response) {
          return postJSON(registerForm.dataset.registerUrl, { name: name, response: response });
        })
        .then(function (answer) {
          if (answer.status !== 201) throw new Error(failure(answer));
          var codes = answer.body.recoveryCodes;
          if (!codes || codes.length === 0) {
            window.location.assign(registerForm.dataset.doneUrl);
            return;
          }
          var section = document.querySelector('[data-recovery-codes]');
          var list = section.querySelector('[data-recovery-code-list]');
          codes.forEach(function (code) {
            var item = document.createElement('li');
            item.textContent = code;
            list.appendChild(item);
          });
          registerForm.hidden = true;
          section.hidden = false;
        })
        .catch(function (error) {
          showError(registerForm, error.message);
        })
        .then(function () {
          button.disabled = false;
        });
    });
  }

  var loginStep = document.getElementById('security-key-login');
  if (loginStep && library) {
    var useKey = loginStep.querySelector('[data-use-security-key]');
    useKey.hidden = false;
    useKey.addEventListener('click', function () {
      useKey.disabled = true;
      postJSON(loginStep.dataset.optionsUrl)
        .then(function (answer) {
          if (answer.status !== 200) throw new Error(failure(answer));
          return library.startAuthentication({ optionsJSON: answer.body.options }).catch(function (error) {
            throw new Error(promptError(error));
          });
        })
        .then(function (response) {
          // "Trust this browser", when the account offers it and the box is ticked.
          var trust = loginStep.querySelector('input[name="trustBrowser"]');
          var body = { method: 'webauthn', response: response };
          if (trust && trust.checked) body.trustBrowser = true;
          return postJSON(loginStep.dataset.verifyUrl, body);
        })
        .then(function (answer) {
          if (answer.status === 200) {
            window.location.assign(loginStep.dataset.doneUrl);
            return;
          }
          // The login ended (expired, or too many wrong answers): start again from the login page.
          if (answer.status === 401 && answer.body && answer.body.error === 'unauthenticated') {
            window.location.assign('/login');
            return;
          }
          throw new Error(answer.status === 401 ? 'The security key was not accepted. Try again, or use another method.' : failure(answer));
        })
        .catch(function (error) {
          showError(loginStep, error.message);
        })
        .then(function () {
          useKey.disabled = false;
        });
    });
  }
})();
