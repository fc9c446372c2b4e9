/**
 * Form bodies of the pages. Each POST declares a JSON schema (additionalProperties false, the
 * same field schemas as the API) but attaches its validation error instead of failing, so the
 * page can re-render the form with the visitor's input and a message about the one field that
 * is wrong. `_csrf` is optional in the schema on purpose: a missing token must reach the CSRF
 * check (403), not read as a mere validation error (400).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TProperties } from 'typebox';

export function formBodySchema<Fields extends TProperties>(fields: Fields) {
  return Type.Object({ ...fields, _csrf: Type.Optional(Type.String({ maxLength: 256 })) }, { additionalProperties: false });
}

/** The submitted text of each named field; anything that is not a single string reads as empty. */
export function readFields<Name extends string>(body: unknown, names: readonly Name[]): Record<Name, string> {
  const source = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const values = {} as Record<Name, string>;
  for (const name of names) {
    const value = Object.hasOwn(source, name) ? source[name] : undefined;
    values[name] = typeof value === 'string' ? value : '';
  }
  return values;
}

export type FormProblem = { field: string } | { field: null };

/**
 * What the schema found wrong with the body, if anything: the field concerned, or null when
 * the form as a whole is malformed (an unknown field, a repeated one, no body at all).
 */
export function formProblem(request: FastifyRequest): FormProblem | null {
  const error = request.validationError;
  if (!error) return null;
  const first = (error.validation as Array<{ keyword: string; instancePath: string; params: Record<string, unknown> }> | undefined)?.[0];
  if (!first || error.validationContext !== 'body') return { field: null };
  if (first.keyword === 'required' && typeof first.params.missingProperty === 'string') return { field: first.params.missingProperty };
  const field = /^\/([A-Za-z]+)$/.exec(first.instancePath)?.[1];
  return { field: field ?? null };
}

/** A refusal as a page shows it: the status to answer with and the alert to re-render the form with. */
export interface FormRefusal {
  status: number;
  message: string;
}

export const MALFORMED_FORM_MESSAGE = 'The form could not be read. Reload the page and try again.';

export function sendPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page);
}
