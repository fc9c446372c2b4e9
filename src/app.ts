/**
 * buildApp(deps) assembles the HTTP application without listening, so tests drive the very
 * same app over real HTTP on an ephemeral port. Order matters: cookies, then the session
 * (authentication guard), then CSRF, then routes.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUI from '@fastify/swagger-ui';
import type { Deps } from './deps.ts';
import { hmacHex } from './crypto/tokens.ts';
import { lazySchemaCompilers } from './http/lazy-schema-compilers.ts';
import { accountRoutes } from './http/api/account-routes.ts';
import { authRoutes } from './http/api/auth-routes.ts';
import { devRoutes } from './http/api/dev-routes.ts';
import { disableRoutes } from './http/api/disable-routes.ts';
import { linkRoutes } from './http/api/link-routes.ts';
import { meRoutes } from './http/api/me-routes.ts';
import { loginVerifyRoutes } from './http/api/login-verify-routes.ts';
import { sessionRoutes } from './http/api/session-routes.ts';
import { reportRoutes } from './http/api/report-routes.ts';
import { securityLogRoutes } from './http/api/security-log-routes.ts';
import { smsRoutes } from './http/api/sms-routes.ts';
import { twoFactorRoutes } from './http/api/two-factor-routes.ts';
import { webauthnRoutes } from './http/api/webauthn-routes.ts';
import { policyRoutes } from './http/api/policy-routes.ts';
import { trustedBrowserRoutes } from './http/api/trusted-browser-routes.ts';
import { healthRoutes } from './http/health-routes.ts';
import { oidcRoutes } from './http/oidc-routes.ts';
import { pageRoutes } from './http/pages/index.ts';
import { authenticationPlugin, markRoutesPublic, sessionCookieFor } from './http/plugins/authentication.ts';
import { allowedOrigins, csrfPlugin } from './http/plugins/csrf.ts';
import { refuseFieldsOnBodyLessRoutes } from './http/plugins/body-less-routes.ts';
import { answerClientError, answerFrameworkError, errorsPlugin } from './http/plugins/errors.ts';
import { floodGuardStore } from './http/plugins/flood-guard-store.ts';
import { metricsRoute, requestTimingPlugin } from './http/plugins/metrics.ts';
import { securityHeadersPlugin } from './http/plugins/security-headers.ts';
import { useStrictJSONParser } from './http/plugins/strict-json.ts';

export interface AppOptions {
  /** The pino logger requests log to; none when absent (tests capture their own). */
  logger?: FastifyBaseLogger;
}

/** The folder of @simplewebauthn/browser's browser bundle (index.umd.min.js defines SimpleWebAuthnBrowser). */
function webauthnBrowserBundle(): string {
  const entry = fileURLToPath(import.meta.resolve('@simplewebauthn/browser'));
  return join(dirname(entry), '..', 'dist', 'bundle');
}

export async function buildApp(deps: Deps, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    bodyLimit: 64 * 1024,
    // A few hundred parameters at most: many-parameter floods are refused, not parsed.
    routerOptions: { maxParamLength: 200 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    // Each route's validators and serializers are compiled at its first request (lazy-schema-compilers.ts).
    schemaController: { compilersFactory: lazySchemaCompilers },
    // Refusals raised before routing or by Node's parser answer in the {error, message} shape too.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // Plugins that read or create state at start (the OpenID Provider's signing keys) wait for the
    // database; on a loaded machine that can pass Fastify's 10 s default, which would abort a start
    // that is only slow. A database that does not answer still fails the start (its own timeouts).
    pluginTimeout: 60_000,
  });

  useStrictJSONParser(app);
  const cookie = sessionCookieFor(config.publicURL, { clock: deps.clock, sessionAbsoluteMs: config.policy.sessionAbsoluteMs });
  await app.register(errorsPlugin);
  await app.register(requestTimingPlugin, { metrics: deps.metrics, token: config.metricsToken });
  await app.register(fastifyCookie, { secret: hmacHex(deps.keys.hashing, 'cookie signing') });
  await app.register(securityHeadersPlugin, { production: config.production });
  // The coarse flood guard. With REDIS_URL it counts in Redis, shared by every instance. Unlike the
  // security limits (login, sign-up, texts), which fail closed with 503 limits_unavailable, it lets
  // requests through while Redis does not answer: signed-in users keep working through an outage.
  // /healthz stays outside it.
  const sharedFloodStore = floodGuardStore(deps.limits);
  await app.register(fastifyRateLimit, {
    max: config.policy.requestsPerMinutePerIP,
    timeWindow: '1 minute',
    skipOnError: true,
    // A client that already went away has no address any more; its request must not become a 500.
    keyGenerator: (request) => request.ip ?? 'gone',
    allowList: (request) => request.url === '/healthz',
    // The flood guard's counts are not announced on every answer (three headers on each, issue #18);
    // a refused request still gets its 429 with Retry-After and the limit.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    ...(sharedFloodStore ? { store: sharedFloodStore } : {}),
  });
  app.addHook('onReady', async () => deps.limits.ready());
  app.addHook('onClose', async () => deps.limits.close());
  // The delivery worker runs while the app does: it sends what this and every other instance queued.
  app.addHook('onReady', async () => deps.delivery.queue.start());
  app.addHook('onClose', async () => deps.delivery.queue.stop());
  await app.register(authenticationPlugin, { deps, cookie });
  await app.register(csrfPlugin, { origins: allowedOrigins(config.publicURL, config.production, config.port), cookieName: cookie.name, secureCookies: cookie.secure });

  // Responses that can carry a session, a secret or personal data are never stored by caches.
  // (A callback hook: it runs on every answer and has nothing to wait for.)
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.url.startsWith('/assets/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Twofold API', version: '1', description: 'Accounts, logins and two-factor authentication. Errors are {error, message}.' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'The token from POST /api/v1/login, /login/verify or /signup' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: cookie.name, description: 'The page session cookie (CSRF rules apply)' },
        },
      },
    },
  });
  await app.register(async (docs) => {
    markRoutesPublic(docs);
    await docs.register(fastifySwaggerUI, {
      routePrefix: '/api/v1/docs',
      staticCSP: true,
      transformStaticCSP: (header) => header.replace("frame-ancestors 'self'", "frame-ancestors 'none'"),
      uiConfig: { deepLinking: false },
    });
  });
  app.get('/api/v1/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  await app.register(
    async (api) => {
      refuseFieldsOnBodyLessRoutes(api);
      await api.register(authRoutes, { deps, cookie });
      await api.register(loginVerifyRoutes, { deps, cookie });
      await api.register(twoFactorRoutes, { deps, cookie });
      await api.register(smsRoutes, { deps, cookie });
      await api.register(webauthnRoutes, { deps, cookie });
      await api.register(disableRoutes, { deps, cookie });
      await api.register(linkRoutes, { deps });
      await api.register(meRoutes, { deps });
      await api.register(accountRoutes, { deps });
      await api.register(policyRoutes, { deps });
      await api.register(securityLogRoutes, { deps });
      await api.register(trustedBrowserRoutes, { deps });
      await api.register(sessionRoutes, { deps });
      await api.register(reportRoutes, { deps });
      if (deps.delivery.outbox) await api.register(devRoutes, { outbox: deps.delivery.outbox });
    },
    { prefix: '/api/v1' },
  );

  await app.register(healthRoutes, { deps });
  await app.register(metricsRoute, { metrics: deps.metrics, token: config.metricsToken });
  await app.register(async (assets) => {
    markRoutesPublic(assets);
    await assets.register(fastifyStatic, { root: fileURLToPath(new URL('../public/', import.meta.url)), prefix: '/assets/', decorateReply: false, maxAge: '1h' });
  });
  await app.register(async (assets) => {
    markRoutesPublic(assets);
    // @simplewebauthn/browser's own bundle, from node_modules: no CDN, and no inline script (the CSP stays 'self').
    await assets.register(fastifyStatic, { root: webauthnBrowserBundle(), prefix: '/assets/webauthn/', decorateReply: false, maxAge: '1h', allowedPath: (path) => path === '/index.umd.min.js' });
  });
  await app.register(async (pages) => {
    await pages.register(fastifyFormbody, { bodyLimit: 16 * 1024 });
    await pages.register(pageRoutes, { deps, cookie });
  });
  await app.register(oidcRoutes, { deps });
  return app;
}
