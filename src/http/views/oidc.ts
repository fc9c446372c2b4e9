/**
 * The pages of application sign-in (OpenID Connect): continuing to the application, the logout
 * confirmation and its result. No inline script (rule 27): continuing uses a meta refresh.
 */
import { html } from './html.ts';
import { renderBarePage } from './layout.ts';

/**
 * Continuing to the application after the login. A page, not a redirect: a login form's
 * navigation may only redirect within `form-action 'self'`, and the application is elsewhere;
 * the meta refresh starts a new navigation to our own resume URL, which then redirects there.
 */
export function renderContinuePage(resumePath: string, clientName: string | null): string {
  const title = clientName ? `Continuing to ${clientName}` : 'Continuing to the application';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="0;url=${resumePath}">
<title>${title} · Twofold</title>
<link rel="stylesheet" href="/assets/twofold.css">
</head>
<body>
<header class="topbar"><a class="brand" href="/">Twofold</a></header>
<main><div class="card"><h1>${title}</h1><p><a id="continue" href="${resumePath}">Continue</a></p></div></main>
</body>
</html>`.value;
}

export function renderLogoutConfirmation(action: string, xsrf: string, clientName: string | null): string {
  return renderBarePage(
    'Log out',
    html`<h1>Log out</h1>
<p>${clientName ? `${clientName} asks to log you out of Twofold.` : 'Log out of Twofold?'}</p>
<form method="post" action="${action}"><input type="hidden" name="xsrf" value="${xsrf}"><button type="submit" name="logout" value="yes">Log out</button> <button type="submit" class="link">Stay logged in</button></form>`,
  );
}

export function renderLoggedOut(clientName: string | null): string {
  return renderBarePage('Logged out', html`<h1>Logged out</h1><p>${clientName ? `You are logged out of ${clientName} and Twofold.` : 'You are logged out.'}</p><p><a href="/login">Log in again</a></p>`);
}
