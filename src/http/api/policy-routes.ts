/**
 * The account's policy over the API (PRODUCT.md §3 GET/PATCH /account/policy): the allowed
 * methods (`allowedMethods`, `requirePhishingResistant`), staged enforcement (`enforceFrom`,
 * `enforceFor`, PRODUCT.md §2.10) and the trusted-browser days (`trustedBrowserDays`, §2.11).
 * A PATCH is one domain call (enforcement/policy-change.ts): every field is checked before
 * anything is saved and the save is one transaction, so a bad value in one group changes nothing
 * in the others.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../deps.ts';
import { type AccountPolicy, MAX_TRUSTED_BROWSER_DAYS, POLICY_METHODS, readAccountPolicy } from '../../enforcement/account-policy.ts';
import { countAffectedUsers } from '../../enforcement/method-policy.ts';
import { changeAccountPolicy } from '../../enforcement/policy-change.ts';
import { affectedScopeOf, countUsersLackingTwoFactor, formatDay } from '../../enforcement/staged-enforcement.ts';
import { sendStagedNotices } from '../../enforcement/staged-notices.ts';
import { listConfirmedMethods } from '../../factors/registry.ts';
import { policyChangeError } from '../outcome-errors.ts';
import { requireSession } from '../plugins/authentication.ts';
import { requireRecentAuthentication } from '../recent-authentication.ts';
import { originOf } from '../request-origin.ts';
import { errorResponses, sessionSecurity } from './schemas.ts';

const MethodSchema = Type.Union(POLICY_METHODS.map((kind) => Type.Literal(kind)), { description: 'totp: Mobile App; sms: SMS Message; webauthn: Security Key' });
// Staged enforcement (PRODUCT.md §2.10).
const EnforceForSchema = Type.Union([Type.Literal('everyone'), Type.Literal('admins')], { description: 'everyone, or admins: administrators only' });
const StagedFields = {
  enforceFrom: Type.Union([Type.String({ description: 'YYYY-MM-DD: enforcement applies from 00:00 UTC of that day; until then users without 2FA get in and are reminded' }), Type.Null()], { description: 'null: at once' }),
  enforceFor: EnforceForSchema,
  usersWithoutTwoFactor: Type.Integer({ description: 'Active users the enforcement applies to (enforceFor) who have no allowed method: the users it affects (GET /account/users?twoFactor=missing lists them)' }),
};
const StagedChangeFields = {
  enforceFrom: Type.Optional(Type.Union([Type.String({ maxLength: 32, description: 'YYYY-MM-DD, from tomorrow to 365 days ahead (UTC)' }), Type.Null()])),
  enforceFor: Type.Optional(EnforceForSchema),
};
// Trusted browsers (PRODUCT.md §2.11): a block of its own beside the method policy.
const TrustedBrowserDaysSchema = Type.Integer({ minimum: 0, maximum: MAX_TRUSTED_BROWSER_DAYS, description: 'Days a browser trusted at the Verification Code step skips the code (0 = off; at most 90). Shortening it applies to trust already granted.' });

const PolicySchema = Type.Object({
  allowedMethods: Type.Array(Type.String({ description: 'totp, sms or webauthn' })),
  requirePhishingResistant: Type.Boolean({ description: 'Security keys only at the second step (recovery codes stay)' }),
  affectedUsers: Type.Integer({ description: 'Users who have 2FA but no method this policy allows: they are sent to setup' }),
  ...StagedFields,
  trustedBrowserDays: TrustedBrowserDaysSchema,
});

export async function policyRoutes(parent: FastifyInstance, options: { deps: Deps }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = options;

  /** The notice of a saved change goes out now; the periodic job picks up whatever this misses. */
  function startStagedNotices(accountId: string): void {
    sendStagedNotices(deps, accountId).catch((error: unknown) => {
      deps.log.error({ err: error instanceof Error ? error.message : String(error), accountId }, 'staged enforcement notices failed; the periodic job retries');
    });
  }

  /** The answer for a policy (as saved, or as a dry run would save it): one read of it, and who it affects. */
  async function policyAnswer(accountId: string, policy: AccountPolicy, affectedUsers: number) {
    return {
      allowedMethods: policy.allowedMethods,
      requirePhishingResistant: policy.requirePhishingResistant,
      affectedUsers,
      enforceFrom: policy.enforceFrom === null ? null : formatDay(policy.enforceFrom),
      enforceFor: policy.enforceFor,
      usersWithoutTwoFactor: await countUsersLackingTwoFactor(deps.db, affectedScopeOf(accountId, policy)),
      trustedBrowserDays: policy.trustedBrowserDays,
    };
  }

  app.get(
    '/account/policy',
    { schema: { tags: ['account'], summary: "The account's allowed second-factor methods", security: sessionSecurity, response: { 200: PolicySchema, ...errorResponses(401, 403) } } },
    async (request) => {
      const session = requireSession(request);
      const policy = await readAccountPolicy(deps.db, session.accountId);
      return policyAnswer(session.accountId, policy, await countAffectedUsers(deps.db, session.accountId, policy));
    },
  );

  app.patch(
    '/account/policy',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['account'],
        summary: 'Change the allowed methods (administrators, recent authentication)',
        description:
          'Any subset of the fields. With dryRun: true nothing is saved and the answer says how many users the change would send to setup. requirePhishingResistant needs a security key of your own (409 admin_2fa_required). enforceFrom must be a day after today and at most 365 days ahead (400 invalid_request otherwise); a new enforceFrom or enforceFor e-mails the users it affects (again 7 days and 1 day before the date) while PATCH /account {enforce2fa: true} is on. Written to the security log as policy_changed.',
        security: sessionSecurity,
        body: Type.Object(
          { allowedMethods: Type.Optional(Type.Array(MethodSchema, { minItems: 1, maxItems: 3, uniqueItems: true })), requirePhishingResistant: Type.Optional(Type.Boolean()), dryRun: Type.Optional(Type.Boolean()), ...StagedChangeFields, trustedBrowserDays: Type.Optional(TrustedBrowserDaysSchema) },
          { additionalProperties: false },
        ),
        response: { 200: PolicySchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request) => {
      const session = requireSession(request);
      requireRecentAuthentication(deps, session);
      const methods = await listConfirmedMethods(deps.db, { id: session.userId });
      const outcome = await changeAccountPolicy(deps, { userId: session.userId, accountId: session.accountId, methods }, request.body, originOf(request));
      if (!outcome.ok) throw policyChangeError(outcome);
      if (outcome.stagedChanged) startStagedNotices(session.accountId);
      return policyAnswer(session.accountId, outcome.policy, outcome.affectedUsers);
    },
  );
}
