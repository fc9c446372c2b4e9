/**
 * SECURITY.md rule 41: when a user's sessions end for a security reason — a password reset, the
 * support command — every application with a back-channel logout URI receives a signed logout
 * token (at a real local endpoint), and the user's refresh tokens stop working at once.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, it } from 'node:test';
import * as oidc from 'openid-client';
import { disableTwoFactor } from '../../src/factors/disable-two-factor.ts';
import { FormSession } from '../helpers/browser.ts';
import { linkFromOutbox, PASSWORD, signUp, waitFor } from '../helpers/fixtures.ts';
import { authorizationRequest, callbackOf, exchange, follow, registerClient, signInThroughPages, verifyAgainstJWKS } from '../helpers/oidc.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';

/** The application's back-channel logout endpoint: records every logout token it receives. */
let endpoint: Server;
let endpointURL = '';
const received: string[] = [];
before(async () => {
  endpoint = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (request.method === 'POST' && request.headers['content-type'] === 'application/x-www-form-urlencoded' && token) received.push(token);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  endpointURL = `http://127.0.0.1:${(endpoint.address() as { port: number }).port}/backchannel-logout`;
});
after(() => endpoint.close());

forEachDatabase('back-channel logout (rule 41)', (context) => {
  async function signedInToApp(withApp: boolean) {
    const { server, api } = context();
    const user = await signUp(api);
    const secret = withApp ? (await enrollAuthenticatorApp(server, api, user.token)).secret : null;
    const client = await registerClient(server, { backchannelLogoutURI: endpointURL });
    const attempt = await authorizationRequest(client, { scope: 'openid email offline_access' });
    const callback = callbackOf(await signInThroughPages(server, new FormSession(server), attempt, user.email, PASSWORD, secret ? () => ({ method: 'totp', code: nextStepCode(server, secret) }) : undefined));
    const tokens = await exchange(client, attempt, callback);
    assert.ok(tokens.refresh_token);
    return { user, client, tokens };
  }

  async function logoutTokenFor(sub: string) {
    const { server } = context();
    let found: Record<string, unknown> | null = null;
    await waitFor(async () => {
      for (const token of received) {
        const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub?: string };
        if (claims.sub !== sub) continue; // another test's (or database's) user
        const { header, payload } = await verifyAgainstJWKS(server, token);
        {
          assert.equal(header.typ, 'logout+jwt');
          found = payload;
        }
      }
      return found !== null;
    }, 10_000);
    return found! as Record<string, any>;
  }

  it('tells the application and ends its refresh token when the password is reset', async () => {
    const { server, api } = context();
    const { user, client, tokens } = await signedInToApp(false);
    await api.post('/password/forgot', { email: user.email });
    await waitFor(() => server.outbox.list().some((m) => m.to === user.email && m.body.includes('/password/reset/')));
    assert.equal((await api.post('/password/reset', { token: linkFromOutbox(server, user.email, '/password/reset/'), password: 'another good password' })).status, 204);
    // At once, before any logout token arrives: the refresh token is dead.
    await assert.rejects(oidc.refreshTokenGrant(client.config, tokens.refresh_token!), (error: any) => error.error === 'invalid_grant');
    const logout = await logoutTokenFor(user.userId);
    assert.equal(logout.iss, server.url);
    assert.equal(logout.aud, client.clientId);
    assert.equal(logout.sid, tokens.claims()!.sid);
    assert.deepEqual(logout.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.equal(logout.nonce, undefined);
  });

  it('tells the application and ends its refresh token when support turns 2FA off', async () => {
    const { server } = context();
    const { user, client, tokens } = await signedInToApp(true);
    await disableTwoFactor(server.deps, { userId: user.userId, accountId: user.accountId, email: user.email, name: 'Ada Admin' }, { kind: 'support', reason: 'Ticket 1: lost phone' }, { ip: null, userAgent: 'test' });
    await assert.rejects(oidc.refreshTokenGrant(client.config, tokens.refresh_token!), (error: any) => error.error === 'invalid_grant');
    const logout = await logoutTokenFor(user.userId);
    assert.equal(logout.sid, tokens.claims()!.sid);
  });
});

forEachDatabase('logging out ends application sign-ins', (context) => {
  it('tells the application when the user logs out of Twofold in that browser, and ends that sign-in', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const client = await registerClient(server, { backchannelLogoutURI: endpointURL });
    const browser = new FormSession(server);
    const attempt = await authorizationRequest(client, { scope: 'openid offline_access' });
    const tokens = await exchange(client, attempt, callbackOf(await signInThroughPages(server, browser, attempt, user.email, PASSWORD)));
    assert.ok(browser.cookie('_session'), 'the provider keeps its session in the browser');
    const loggedOut = await browser.post('/logout', {}, { formPage: '/user' });
    assert.equal(loggedOut.status, 303);
    await assert.rejects(oidc.refreshTokenGrant(client.config, tokens.refresh_token!), (error: any) => error.error === 'invalid_grant');
    await waitFor(() => received.some((token) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).sid === tokens.claims()!.sid), 10_000);
  });

  it('signs out of Twofold at the end-session endpoint once the user confirms', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const client = await registerClient(server);
    const browser = new FormSession(server);
    const attempt = await authorizationRequest(client);
    const tokens = await exchange(client, attempt, callbackOf(await signInThroughPages(server, browser, attempt, user.email, PASSWORD)));
    const endSession = oidc.buildEndSessionUrl(client.config, { id_token_hint: tokens.id_token! });
    const confirmation = await browser.get(endSession.pathname + endSession.search);
    assert.equal(confirmation.status, 200);
    assert.doesNotMatch(confirmation.text, /<script(?![^>]*\bsrc="\/assets\/)/, 'no inline script, only our own files (rule 27)');
    const action = /<form method="post" action="([^"]+)"/.exec(confirmation.text)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirmation.text)![1]!;
    const confirmed = await browser.post(new URL(action, server.url).pathname, { xsrf, logout: 'yes', _csrf: 'unused' });
    assert.ok(confirmed.status >= 300 && confirmed.status < 400, `confirm answered ${confirmed.status}`);
    assert.equal((await browser.get('/user')).status, 303, 'the Twofold session ended too');
    assert.equal(await server.deps.db.selectFrom('sessions').select('token_hash').where('user_id', '=', user.userId).execute().then((rows) => rows.length), 1, 'only the sign-up session (the API one) is left');
  });
});

forEachDatabase('a new login in the browser', (context) => {
  it('signs the next user of a browser in to the application as themselves, with no page in between', async () => {
    const { server, api } = context();
    const first = await signUp(api);
    const second = await signUp(api);
    const client = await registerClient(server);
    const browser = new FormSession(server);
    const attempt = await authorizationRequest(client);
    assert.equal((await exchange(client, attempt, callbackOf(await signInThroughPages(server, browser, attempt, first.email, PASSWORD)))).claims()!.sub, first.userId);
    // The first user's Twofold session expires (its provider session does not), then someone
    // else logs in to Twofold in the same browser and signs in to the application.
    await server.deps.db.deleteFrom('sessions').where('user_id', '=', first.userId).execute();
    assert.equal((await browser.post('/login', { email: second.email, password: PASSWORD })).status, 303);
    const again = await authorizationRequest(client);
    const claims = (await exchange(client, again, callbackOf(await follow(server, browser, again.url.href)))).claims()!;
    assert.equal(claims.sub, second.userId);
  });
});

forEachDatabase('back-channel logout through the delivery queue', (context) => {
  it('queues the notice in the transaction that ends the sessions, and retries it with the queue while the application refuses', async () => {
    const { server, api } = context();
    // An application that answers 503 to its first logout token, then 200.
    const tokens: string[] = [];
    let refusals = 1;
    const app = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        if (refusals > 0) {
          refusals -= 1;
          response.writeHead(503).end();
          return;
        }
        tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    try {
      const user = await signUp(api);
      const client = await registerClient(server, { backchannelLogoutURI: `http://127.0.0.1:${(app.address() as { port: number }).port}/logout` });
      const attempt = await authorizationRequest(client);
      const signedIn = await exchange(client, attempt, callbackOf(await signInThroughPages(server, new FormSession(server), attempt, user.email, PASSWORD)));

      await api.post('/password/forgot', { email: user.email });
      await waitFor(() => server.outbox.list().some((m) => m.to === user.email && m.body.includes('/password/reset/')));
      assert.equal((await api.post('/password/reset', { token: linkFromOutbox(server, user.email, '/password/reset/'), password: 'another good password' })).status, 204);

      const row = () => server.deps.db.selectFrom('delivery_queue').selectAll().where('user_id', '=', user.userId).where('channel', '=', 'backchannel_logout').executeTakeFirst();
      await waitFor(async () => {
        const current = await row();
        return Number(current?.attempts) === 1 && current?.status === 'queued';
      });
      const refused = (await row())!;
      assert.equal(refused.kind, 'logout_token');
      assert.equal(refused.status, 'queued', 'refused once: waiting for its retry');
      assert.match(refused.last_error ?? '', /503/);
      assert.ok(refused.payload_encrypted && !refused.payload_encrypted.includes(user.userId), 'the notice is stored encrypted');

      // The queue's backoff, on the server's clock: after DELIVERY_RETRY_SECONDS the next try goes.
      server.clock.advance(server.config.delivery.retryBaseMs);
      await server.deps.delivery.queue.drain();
      const sent = (await row())!;
      assert.equal(sent.status, 'sent');
      assert.equal(Number(sent.attempts), 2);
      assert.equal(sent.payload_encrypted, null, 'erased once sent');
      assert.equal(tokens.length, 1);
      const { payload } = await verifyAgainstJWKS(server, tokens[0]!);
      assert.equal(payload.sub, user.userId);
      assert.equal(payload.sid, signedIn.claims()!.sid);
    } finally {
      app.close();
    }
  });

  it('leaves logout notices queued for a process that cannot sign them (the twofold command drains e-mail only)', async () => {
    const { server } = context();
    const { claimDueMessages, enqueueMessage } = await import('../../src/delivery/queue/queue-store.ts');
    const user = await signUp(context().api);
    await enqueueMessage(server.deps.db, server.clock, server.deps.keys, 'another-instance', { channel: 'backchannel_logout', kind: 'logout_token', userId: user.userId, payload: { clientId: 'x', userId: user.userId, sid: null } });
    server.clock.advance(60_000);
    const claimed = await claimDueMessages(server.deps.db, server.clock, server.deps.keys, { instanceId: 'cli', leaseMs: 1000, handoffMs: 0, limit: 10, channels: ['email'] });
    assert.equal(claimed.filter((message) => message.channel === 'backchannel_logout').length, 0);
    const row = await server.deps.db.selectFrom('delivery_queue').select(['status', 'attempts']).where('user_id', '=', user.userId).where('channel', '=', 'backchannel_logout').executeTakeFirstOrThrow();
    assert.deepEqual({ status: row.status, attempts: Number(row.attempts) }, { status: 'queued', attempts: 0 });
  });
});
