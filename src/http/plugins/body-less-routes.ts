/**
 * Routes that take no body refuse one that carries anything (SECURITY.md rule 34, strict form):
 * as a route with a body schema refuses unknown fields, a route without one refuses every field,
 * so nothing a client adds is silently ignored — today or on a route added later. A missing body,
 * `null` or `{}` stays accepted: clients send those for "nothing".
 *
 * Applied to the API's routes through an onRoute hook: every state-changing route registered
 * without `schema.body` gets the check before validation. Page forms are left alone (they carry
 * their CSRF token as a field).
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { HttpError } from '../../errors.ts';

const METHODS_WITH_BODIES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function isEmptyBody(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  return typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0;
}

async function refuseAnyBody(request: FastifyRequest): Promise<void> {
  if (!isEmptyBody(request.body)) throw new HttpError('invalid_request', { variant: 'takes_no_fields' });
}

function takesBodies(route: RouteOptions): boolean {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  return methods.some((method) => METHODS_WITH_BODIES.has(method.toUpperCase()));
}

export function refuseFieldsOnBodyLessRoutes(api: FastifyInstance): void {
  api.addHook('onRoute', (route) => {
    if (!takesBodies(route) || route.schema?.body) return;
    const existing = route.preValidation ? (Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation]) : [];
    route.preValidation = [refuseAnyBody, ...existing];
  });
}
