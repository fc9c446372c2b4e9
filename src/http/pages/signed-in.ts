/** What every signed-in page needs: the session the guard let through and the top bar's user. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { formatDay } from '../../enforcement/staged-enforcement.ts';
import type { SessionContext } from '../../sessions/sessions.ts';
import { requireSession } from '../plugins/authentication.ts';
import type { LayoutUser } from '../views/layout.ts';

export interface SignedInPage {
  session: SessionContext;
  layoutUser: LayoutUser;
}

export function signedInPage(request: FastifyRequest, reply: FastifyReply): SignedInPage {
  const session = requireSession(request);
  const twoFactorRequiredFrom = session.twoFactorRequiredFrom === null ? null : formatDay(session.twoFactorRequiredFrom);
  const resend = (request.query as Record<string, unknown> | undefined)?.verification;
  const layoutUser: LayoutUser = {
    name: session.name,
    role: session.role,
    csrfToken: reply.generateCsrf(),
    emailVerified: session.emailVerified,
    verificationResend: resend === 'sent' || resend === 'wait' ? resend : null,
    twoFactorRequiredFrom,
  };
  return { session, layoutUser };
}
