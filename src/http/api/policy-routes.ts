/**
 * The account's allowed-methods policy over the API (PRODUCT.md §3 GET/PATCH /account/policy).
 * This branch implements `allowedMethods`, `requirePhishingResistant` and `trustedBrowserDays`;
 * the later fields of that row (`enforceFrom`, `enforceFor`) are not accepted yet (an unknown
 * field is a 400), so nothing is stored that no code would honour.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../deps.ts';
import { changeMethodPolicy, countAffectedUsers, POLICY_METHODS, readMethodPolicy } from '../../enforcement/method-policy.ts';
import { listConfirmedMethods } from '../../factors/registry.ts';
import { methodPolicyError } from '../outcome-errors.ts';
import { requireSession } from '../plugins/authentication.ts';
import { requireRecentAuthentication } from '../recent-authentication.ts';
import { originOf } from '../request-origin.ts';
import { changeTrustedBrowserDays, MAX_TRUSTED_BROWSER_DAYS, readTrustedBrowserDays } from '../../trusted-browsers/trusted-browsers.ts';
import { errorResponses, sessionSecurity } from './schemas.ts';

const MethodSchema = Type.Union(POLICY_METHODS.map((kind) => Type.Literal(kind)), { description: 'totp: Mobile App; sms: SMS Message; webauthn: Security Key' });
// Trusted browsers (PRODUCT.md §2.11): a block of its own beside the method policy.
const TrustedBrowserDaysSchema = Type.Integer({ minimum: 0, maximum: MAX_TRUSTED_BROWSER_DAYS, description: 'Days a browser trusted at the Verification Code step skips the code (0 = off; at most 90). Shortening it applies to trust already granted.' });

const PolicySchema = Type.Object({
  allowedMethods: Type.Array(Type.String({ description: 'totp, sms or webauthn' })),
  requirePhishingResistant: Type.Boolean({ description: 'Security keys only at the second step (recovery codes stay)' }),
  affectedUsers: Type.Integer({ description: 'Users who have 2FA but no method this policy allows: they are sent to setup' }),
  trustedBrowserDays: TrustedBrowserDaysSchema,
});

export async function policyRoutes(parent: FastifyInstance, options: { deps: Deps }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = options;

  app.get(
    '/account/policy',
    { schema: { tags: ['account'], summary: "The account's allowed second-factor methods", security: sessionSecurity, response: { 200: PolicySchema, ...errorResponses(401, 403) } } },
    async (request) => {
      const session = requireSession(request);
      const policy = await readMethodPolicy(deps.db, session.accountId);
      return { ...policy, affectedUsers: await countAffectedUsers(deps.db, session.accountId, policy), trustedBrowserDays: await readTrustedBrowserDays(deps.db, session.accountId) };
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
          'Any subset of the fields. With dryRun: true nothing is saved and the answer says how many users the change would send to setup. requirePhishingResistant needs a security key of your own (409 admin_2fa_required). Written to the security log as policy_changed.',
        security: sessionSecurity,
        body: Type.Object(
          { allowedMethods: Type.Optional(Type.Array(MethodSchema, { minItems: 1, maxItems: 3, uniqueItems: true })), requirePhishingResistant: Type.Optional(Type.Boolean()), dryRun: Type.Optional(Type.Boolean()), trustedBrowserDays: Type.Optional(TrustedBrowserDaysSchema) },
          { additionalProperties: false },
        ),
        response: { 200: PolicySchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request) => {
      const session = requireSession(request);
      requireRecentAuthentication(deps, session);
      const methods = await listConfirmedMethods(deps.db, { id: session.userId });
      const { trustedBrowserDays, ...methodChange } = request.body;
      // A body with only the days leaves the method policy as it is (a dry run of no change answers it).
      const onlyDays = trustedBrowserDays !== undefined && methodChange.allowedMethods === undefined && methodChange.requirePhishingResistant === undefined;
      const outcome = await changeMethodPolicy(deps, { userId: session.userId, accountId: session.accountId, methods }, onlyDays ? { dryRun: true } : methodChange, originOf(request));
      if (!outcome.ok) throw methodPolicyError(outcome);
      // Trusted-browser days: saved after the method change was accepted, never on a dry run.
      if (trustedBrowserDays !== undefined && !methodChange.dryRun) await changeTrustedBrowserDays(deps.db, deps.clock, session, trustedBrowserDays, originOf(request));
      return { ...outcome.policy, affectedUsers: outcome.affectedUsers, trustedBrowserDays: trustedBrowserDays ?? (await readTrustedBrowserDays(deps.db, session.accountId)) };
    },
  );
}
