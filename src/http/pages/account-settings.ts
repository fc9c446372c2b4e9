/**
 * Account Information (PRODUCT.md §2.4): the "Enforce Two-Factor Authentication (2FA)" switch,
 * for admins only (the guard checks config.role). Changing it is a sensitive action (SECURITY.md
 * rule 28): a session whose authentication is older than the policy first gets the password
 * form instead of the switch, and the save checks recency again on the server — the form being
 * shown proves nothing about the request that arrives. The save is the same domain call as
 * PATCH /api/v1/account, so the rule "an admin needs 2FA before enforcing it" lives in one place.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { findAccountById } from '../../accounts/accounts.ts';
import { setAccountEnforcement, type EnforcementOutcome } from '../../enforcement/account-enforcement.ts';
import { errorCatalog, HttpError } from '../../errors.ts';
import { isRecentlyAuthenticated, type SessionContext } from '../../sessions/sessions.ts';
import { findUserById } from '../../users/users.ts';
import { verifyFormToken } from '../plugins/csrf.ts';
import { enforceFromError, enforcementError, policyChangeError } from '../outcome-errors.ts';
import { MAX_TRUSTED_BROWSER_DAYS, POLICY_METHODS, readAccountPolicy, type AccountPolicy } from '../../enforcement/account-policy.ts';
import { changeAccountPolicy } from '../../enforcement/policy-change.ts';
import { originOf } from '../request-origin.ts';
import { ACCOUNT_PATH, ACCOUNT_POLICY_PATH, ADMIN_2FA_REQUIRED_ALERT, renderAccountSettingsPage, type AccountPageState, type StagedEnforcementView } from '../views/account-settings.ts';
import { affectedScopeOf, checkStagedChange, countUsersLackingTwoFactor, formatDay, type EnforceFor } from '../../enforcement/staged-enforcement.ts';
import { sendStagedNotices } from '../../enforcement/staged-notices.ts';
import { listAccountUsersWithFactors } from '../../users/listing.ts';
import type { LayoutUser } from '../views/layout.ts';
import { formBodySchema, formProblem, MALFORMED_FORM_MESSAGE, sendPage } from './form-input.ts';
import type { PageOptions } from './index.ts';
import { signedInPage } from './signed-in.ts';
import { TRUSTED_BROWSER_DAYS_MESSAGE, TRUSTED_BROWSER_DAYS_PATH } from '../views/trusted-browser-days.ts';
import { listConfirmedMethods } from '../../factors/registry.ts';

/** How many of the affected users the Security section names before linking to the rest. */
const AFFECTED_SHOWN = 10;

function describeSaved(outcome: Extract<EnforcementOutcome, { ok: true }>, enforce: boolean, staged: AccountPolicy | null): string {
  if (staged) {
    const who = staged.enforceFor === 'admins' ? 'administrators' : 'everyone';
    const when = staged.enforceFrom === null ? 'at once' : `from ${formatDay(staged.enforceFrom)}`;
    return enforce ? `Changes saved: two-factor authentication is required for ${who} in this account ${when}.` : `Changes saved: when turned on, two-factor authentication will be required for ${who} ${when}.`;
  }
  if (!outcome.changed) return enforce ? 'No change: two-factor authentication was already required for everyone in this account.' : 'No change: two-factor authentication was already not required for this account.';
  return enforce ? 'Two-factor authentication is now required for everyone in this account.' : 'Two-factor authentication is no longer required for this account.';
}

export async function accountSettingsPages(app: FastifyInstance, options: PageOptions): Promise<void> {
  const { deps } = options;
  const recent = (session: SessionContext) => isRecentlyAuthenticated(deps.clock, session, deps.config.policy.recentAuthenticationMs);

  async function sendAccountPage(
    reply: FastifyReply,
    status: number,
    session: SessionContext,
    layoutUser: LayoutUser,
    extra: Pick<AccountPageState, 'notice' | 'alert'> & { policy?: AccountPageState['policy']; typed?: { enforceFrom: string; enforceFor: EnforceFor } } = {},
  ): Promise<FastifyReply> {
    const account = await findAccountById(deps.db, session.accountId);
    if (!account) throw new HttpError('not_found');
    const saved = await readAccountPolicy(deps.db, session.accountId);
    const policy = extra.policy ?? { allowedMethods: saved.allowedMethods, requirePhishingResistant: saved.requirePhishingResistant };
    const staged = await stagedView(session.accountId, saved, extra.typed);
    return sendPage(reply, status, renderAccountSettingsPage(layoutUser, { account, recentlyAuthenticated: recent(session), notice: extra.notice, alert: extra.alert, policy, staged, trustedBrowserDays: saved.trustedBrowserDays }));
  }

  // Staged enforcement (PRODUCT.md §2.10): the saved values (or those just typed, on a refusal) and who they affect.
  async function stagedView(accountId: string, saved: AccountPolicy, typed?: { enforceFrom: string; enforceFor: EnforceFor }): Promise<StagedEnforcementView> {
    const enforceFor = typed?.enforceFor ?? saved.enforceFor;
    const scope = { ...affectedScopeOf(accountId, saved), enforceFor };
    const first = await listAccountUsersWithFactors(deps.db, accountId, { cursor: null, emailPrefix: null, limit: AFFECTED_SHOWN, lackingTwoFactor: scope });
    return {
      enforceFrom: typed?.enforceFrom ?? (saved.enforceFrom === null ? '' : formatDay(saved.enforceFrom)),
      enforceFor,
      usersWithoutTwoFactor: await countUsersLackingTwoFactor(deps.db, scope),
      firstUsers: first.ok ? first.users.map((user) => ({ email: user.email, name: user.name })) : [],
    };
  }

  app.get(ACCOUNT_PATH, { config: { role: 'admin' }, schema: { hide: true } }, async (request, reply) => {
    const { session, layoutUser } = signedInPage(request, reply);
    return sendAccountPage(reply, 200, session, layoutUser);
  });

  app.post(
    ACCOUNT_PATH,
    {
      config: { role: 'admin' },
      // An unticked checkbox sends nothing, so the absence of the field means "off".
      schema: {
        hide: true,
        body: formBodySchema({
          enforce2fa: Type.Optional(Type.Literal('on')),
          // Staged enforcement; a form without them (an older page) leaves them as they are.
          enforceFrom: Type.Optional(Type.String({ maxLength: 32 })),
          enforceFor: Type.Optional(Type.Union([Type.Literal('everyone'), Type.Literal('admins')])),
        }),
      },
      attachValidation: true,
      preHandler: verifyFormToken(app),
    },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      const problem = formProblem(request);
      if (problem) return sendAccountPage(reply, 400, session, layoutUser, { alert: MALFORMED_FORM_MESSAGE });
      // The page re-renders with the password form in place of the switch.
      if (!recent(session)) return sendAccountPage(reply, errorCatalog.reauthentication_required.status, session, layoutUser, { alert: errorCatalog.reauthentication_required.message });

      const body = request.body as { enforce2fa?: string; enforceFrom?: string; enforceFor?: EnforceFor };
      const enforce = body.enforce2fa === 'on';
      const user = await findUserById(deps.db, session.userId);
      if (!user) throw new HttpError('unauthenticated');
      const actor = { userId: session.userId, accountId: session.accountId, accountName: session.accountName, name: session.name, methods: await listConfirmedMethods(deps.db, user) };
      // Staged enforcement: checked, then saved before the switch, so turning it on arms the notices for the new date.
      const typed = body.enforceFrom !== undefined || body.enforceFor !== undefined ? { enforceFrom: body.enforceFrom?.trim() ?? '', enforceFor: body.enforceFor ?? 'everyone' } : undefined;
      const stagedChange = typed ? { enforceFrom: typed.enforceFrom === '' ? null : typed.enforceFrom, enforceFor: typed.enforceFor } : {};
      const checked = checkStagedChange(stagedChange, deps.clock.now());
      if (!checked.ok) return sendAccountPage(reply, 400, session, layoutUser, { alert: enforceFromError(checked).message, typed });
      if (enforce && actor.methods.length === 0) return sendAccountPage(reply, enforcementError({ reason: 'admin_2fa_required' }).status, session, layoutUser, { alert: ADMIN_2FA_REQUIRED_ALERT, typed });
      const staged = typed ? await changeAccountPolicy(deps, actor, stagedChange, originOf(request)) : null;
      if (staged && !staged.ok) return sendAccountPage(reply, 400, session, layoutUser, { alert: policyChangeError(staged).message, typed });
      const outcome = await setAccountEnforcement(deps, actor, enforce, originOf(request));
      if (!outcome.ok) return sendAccountPage(reply, enforcementError(outcome).status, session, layoutUser, { alert: ADMIN_2FA_REQUIRED_ALERT });
      if (staged?.stagedChanged && !outcome.changed) {
        sendStagedNotices(deps, session.accountId).catch((error: unknown) => {
          deps.log.error({ err: error instanceof Error ? error.message : String(error), accountId: session.accountId }, 'staged enforcement notices failed; the periodic job retries');
        });
      }
      return sendAccountPage(reply, 200, session, layoutUser, { notice: describeSaved(outcome, enforce, staged?.ok && staged.stagedChanged ? staged.policy : null) });
    },
  );

  // Allowed methods: the same domain call as PATCH /api/v1/account/policy. A change that sends
  // users to setup is first answered with their number and saved only when confirmed.
  const checkbox = Type.Optional(Type.Literal('on'));
  app.post(
    ACCOUNT_POLICY_PATH,
    {
      config: { role: 'admin' },
      schema: { hide: true, body: formBodySchema({ allow_totp: checkbox, allow_sms: checkbox, allow_webauthn: checkbox, requirePhishingResistant: checkbox, confirm: Type.Optional(Type.Literal('yes')) }) },
      attachValidation: true,
      preHandler: verifyFormToken(app),
    },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      if (formProblem(request)) return sendAccountPage(reply, 400, session, layoutUser, { alert: MALFORMED_FORM_MESSAGE });
      if (!recent(session)) return sendAccountPage(reply, errorCatalog.reauthentication_required.status, session, layoutUser, { alert: errorCatalog.reauthentication_required.message });
      const body = request.body as Record<string, string | undefined>;
      const change = { allowedMethods: POLICY_METHODS.filter((kind) => body[`allow_${kind}`] === 'on'), requirePhishingResistant: body.requirePhishingResistant === 'on' };
      const actor = { userId: session.userId, accountId: session.accountId, methods: await listConfirmedMethods(deps.db, { id: session.userId }) };
      const preview = await changeAccountPolicy(deps, actor, { ...change, dryRun: true }, originOf(request));
      if (!preview.ok) {
        const error = policyChangeError(preview);
        return sendAccountPage(reply, error.status, session, layoutUser, { alert: error.message, policy: change });
      }
      if (preview.affectedUsers > 0 && body.confirm !== 'yes') return sendAccountPage(reply, 200, session, layoutUser, { policy: { ...change, pendingAffectedUsers: preview.affectedUsers } });
      const saved = await changeAccountPolicy(deps, actor, change, originOf(request));
      if (!saved.ok) return sendAccountPage(reply, policyChangeError(saved).status, session, layoutUser, { alert: policyChangeError(saved).message, policy: change });
      return sendAccountPage(reply, 200, session, layoutUser, { notice: `Allowed methods saved.${saved.affectedUsers > 0 ? ` ${saved.affectedUsers === 1 ? '1 user is' : `${saved.affectedUsers} users are`} sent to two-factor setup.` : ''}` });
    },
  );

  // Trusted browsers (PRODUCT.md §2.11): the same domain call as PATCH /api/v1/account/policy {trustedBrowserDays}.
  app.post(
    TRUSTED_BROWSER_DAYS_PATH,
    { config: { role: 'admin' }, schema: { hide: true, body: formBodySchema({ trustedBrowserDays: Type.String({ maxLength: 8 }) }) }, attachValidation: true, preHandler: verifyFormToken(app) },
    async (request, reply) => {
      const { session, layoutUser } = signedInPage(request, reply);
      if (formProblem(request)) return sendAccountPage(reply, 400, session, layoutUser, { alert: MALFORMED_FORM_MESSAGE });
      if (!recent(session)) return sendAccountPage(reply, errorCatalog.reauthentication_required.status, session, layoutUser, { alert: errorCatalog.reauthentication_required.message });
      const text = (request.body as { trustedBrowserDays: string }).trustedBrowserDays.trim();
      const days = /^\d{1,2}$/.test(text) ? Number(text) : NaN;
      if (!(days >= 0 && days <= MAX_TRUSTED_BROWSER_DAYS)) return sendAccountPage(reply, 400, session, layoutUser, { alert: TRUSTED_BROWSER_DAYS_MESSAGE });
      const actor = { userId: session.userId, accountId: session.accountId, methods: await listConfirmedMethods(deps.db, { id: session.userId }) };
      await changeAccountPolicy(deps, actor, { trustedBrowserDays: days }, originOf(request));
      return sendAccountPage(reply, 200, session, layoutUser, { notice: days === 0 ? 'Trusted browsers are off: every login asks for the code.' : `Trusted browsers saved: ${days === 1 ? '1 day' : `${days} days`}.` });
    },
  );
}
