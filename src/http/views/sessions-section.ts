/**
 * The "Sessions" section of User Details (PRODUCT.md §2.11): where the user is signed in
 * (browser and system from the user agent, IP, last seen), "Sign out" per other session and
 * "Sign out other sessions". Every button is a form with its CSRF token: it works without
 * JavaScript.
 */
import type { SessionListEntry } from '../../sessions/session-list.ts';
import { describeUserAgent } from '../../users/user-agent.ts';
import { timeElement } from './time.ts';
import { csrfField } from './forms.ts';
import { html, type SafeHTML } from './html.ts';

export const SESSIONS_PATH = '/user/sessions';

export function sessionSignOutPath(id: string): string {
  return `${SESSIONS_PATH}/${encodeURIComponent(id)}/sign-out`;
}

function signOutButton(action: string, csrfToken: string, label: string, accessibleName: string): SafeHTML {
  return html`<form method="post" action="${action}" class="inline">${csrfField(csrfToken)}<button type="submit" aria-label="${accessibleName}">${label}</button></form>`;
}

export function renderSessionsSection(sessions: SessionListEntry[], csrfToken: string): SafeHTML {
  const others = sessions.filter((session) => !session.current);
  const rows = sessions.map((session) => {
    const browser = describeUserAgent(session.userAgent).label;
    return html`<tr>
<td>${browser}${session.current ? html` <strong class="status-on">(this browser)</strong>` : ''}</td>
<td class="breakable">${session.ip}</td>
<td class="nowrap">${timeElement(session.lastSeenAt)}</td>
<td>${session.current ? '' : signOutButton(sessionSignOutPath(session.id), csrfToken, 'Sign out', `Sign out ${browser}, ${session.ip}`)}</td>
</tr>`;
  });
  return html`<section class="panel" aria-labelledby="sessions-heading" id="sessions">
<h2 id="sessions-heading">Sessions</h2>
<p class="hint">Where your account is signed in, most recently active first.</p>
<div class="table-wrap" role="region" aria-label="Your sessions" tabindex="0"><table class="sessions">
<thead><tr><th scope="col">Browser</th><th scope="col">IP address</th><th scope="col">Last seen</th><th scope="col">Action</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>
${others.length > 0 ? html`<form method="post" action="${SESSIONS_PATH}/sign-out-others" class="stacked">${csrfField(csrfToken)}<button type="submit" class="danger">Sign out other sessions</button></form>` : ''}
</section>`;
}
