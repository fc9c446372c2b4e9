/**
 * How a page answers a password that was refused — by the login form or by the "Confirm your
 * password" form: the status and message to re-render the form with, and Retry-After when the
 * refusal will pass by itself (locked: the failed-password window; busy: the hashing queue).
 */
import type { FastifyReply } from 'fastify';
import { errorCatalog } from '../../errors.ts';

export type PasswordRefusalReason = { reason: 'invalid_credentials' } | { reason: 'locked'; retryAfterSeconds: number } | { reason: 'busy' };

export interface PasswordRefusal {
  status: number;
  message: string;
}

export function refusePassword(reply: FastifyReply, refusal: PasswordRefusalReason, wrongPasswordMessage: string): PasswordRefusal {
  if (refusal.reason === 'locked') {
    reply.header('retry-after', String(refusal.retryAfterSeconds));
    return errorCatalog.too_many_attempts;
  }
  if (refusal.reason === 'busy') {
    reply.header('retry-after', '1');
    return errorCatalog.server_busy;
  }
  return { status: errorCatalog.invalid_credentials.status, message: wrongPasswordMessage };
}
