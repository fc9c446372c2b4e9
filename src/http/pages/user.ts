/**
 * User Details (PRODUCT.md §2.3). Reachable at 'setup' level: a session that must enrol a
 * second factor before going further lands here, and nowhere else. Its Two-Factor
 * Authentication section leads to the enrollment pages (two-factor-app.ts) and, once 2FA is
 * on, to regenerating recovery codes (two-factor-recovery-codes.ts).
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../../errors.ts';
import { countUnusedRecoveryCodes } from '../../factors/recovery-codes/recovery-codes.ts';
import { findUserById } from '../../users/users.ts';
import { html } from '../views/html.ts';
import { renderSignedInPage } from '../views/layout.ts';
import { statusMessage } from '../views/forms.ts';
import { renderTwoFactorSection } from '../views/two-factor-section.ts';
import { sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { describeMethods, describeRole, signedInPage } from './signed-in.ts';
import { findSecondFactor, listConfirmedMethods } from '../../factors/registry.ts';

export async function userPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;

  app.get('/user', { config: { access: 'setup' }, schema: { hide: true } }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    const user = await findUserById(deps.db, session.userId);
    if (!user) throw new HttpError('unauthenticated');
    const methods = await listConfirmedMethods(deps.db, user);
    const mustEnrol = session.state === 'enrollment_required';
    const unusedRecoveryCodes = methods.length > 0 ? await countUnusedRecoveryCodes(deps.db, user.id) : 0;
    const phoneMasked = methods.includes('sms') ? ((await findSecondFactor('sms')!.describe(deps, user.id))?.detail ?? null) : null;
    const smsAvailable = deps.delivery.sms !== null;
    const main = html`<h1>User Details</h1>
${mustEnrol ? statusMessage('Your account administrator requires two-factor authentication. Set it up below to continue.') : ''}
<dl class="details">
<dt>Name</dt><dd>${user.name}</dd>
<dt>Email</dt><dd>${user.email}</dd>
<dt>Role</dt><dd>${describeRole(user.role)}</dd>
<dt>Account</dt><dd>${session.accountName}</dd>
</dl>
<section class="panel" aria-labelledby="two-factor-heading">
<h2 id="two-factor-heading">Two-Factor Authentication</h2>
<p>Status: <strong class="${methods.length > 0 ? 'status-on' : 'status-off'}">${describeMethods(methods)}</strong></p>
<div class="two-factor-enrollment" id="two-factor-enrollment" data-methods="${methods.join(' ')}">
${renderTwoFactorSection({ methods, unusedRecoveryCodes, smsAvailable, phoneMasked })}
</div>
</section>`;
    return sendPage(reply, 200, renderSignedInPage('User Details', layoutUser, main));
  });
}
