/**
 * How a page answers a password that was refused — by the login form, the "Confirm your
 * password" form or the disable link's form: the status and message to re-render the form
 * with, and Retry-After when the refusal will pass by itself (locked: the failed-password
 * window; busy: the hashing queue). The mapping is the API's (outcome-errors.ts); only a wrong
 * password gets the page's own words.
 */
import type { FastifyReply } from 'fastify';
import type { HttpError } from '../../errors.ts';
import { answerRetryAfter, passwordRefusalError, type PasswordRefusal } from '../outcome-errors.ts';
import type { FormRefusal } from './form-input.ts';

export function refusePasswordError(reply: FastifyReply, error: HttpError, wrongPasswordMessage: string): FormRefusal {
  answerRetryAfter(reply, error);
  return { status: error.status, message: error.code === 'invalid_credentials' ? wrongPasswordMessage : error.message };
}

export function refusePassword(reply: FastifyReply, refusal: PasswordRefusal, wrongPasswordMessage: string): FormRefusal {
  return refusePasswordError(reply, passwordRefusalError(refusal), wrongPasswordMessage);
}
