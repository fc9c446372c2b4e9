/**
 * The example application (examples/saas-app) signs a user in through Twofold in Chromium:
 * password, then the authenticator-app code on Twofold's Verification Code page, and back to the
 * application, which shows the claims (issue 14's "Done when"). Real CSP, real cookies, real
 * redirects: this is the check that the "Continuing" page gets a form's login past
 * `form-action 'self'`.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildSaaSApp } from '../../examples/saas-app/app.ts';
import { systemClock } from '../../src/clock.ts';
import { addClient } from '../../src/oidc/clients.ts';
import { browserSuite } from '../helpers/browser.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';
import { freePort } from '../helpers/server.ts';
import { enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';

browserSuite('the example app signs in through Twofold (OpenID Connect)', (context) => {
  it('signs in with password + app code in Chromium and shows the claims; signing out ends the Twofold session too', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const user = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, user.token);
    const appURL = `http://127.0.0.1:${await freePort()}`;
    const added = await addClient(server.deps.db, systemClock, { name: 'Acme App', redirectURIs: [`${appURL}/callback`], postLogoutRedirectURIs: [], backchannelLogoutURI: null, public: false, require2FA: true }, false);
    assert.ok(added.ok);
    let app: FastifyInstance | null = null;
    try {
      app = await buildSaaSApp({ issuer: server.url, clientId: added.clientId, clientSecret: added.clientSecret!, appURL });
      await app.listen({ host: '127.0.0.1', port: Number(new URL(appURL).port) });
      const page = await context().newPage();
      await page.goto(appURL);
      await page.getByRole('link', { name: 'Sign in with Twofold' }).click();
      await page.waitForURL(/\/login\?next=/);
      await page.getByLabel('Email', { exact: true }).fill(user.email);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(/\/login\/verify/);
      await page.locator('#field-code').fill(nextStepCode(server, secret));
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(`${appURL}/`);
      assert.equal(await page.locator('#email').innerText(), user.email);
      assert.equal(await page.locator('[data-claim="acr"]').innerText(), 'mfa');
      assert.equal(await page.locator('[data-claim="amr"]').innerText(), '["pwd","otp","mfa"]');
      assert.equal(await page.locator('[data-claim="sub"]').innerText(), user.userId);
      assert.equal(await page.locator('[data-claim="account"]').innerText(), JSON.stringify({ id: user.accountId, name: 'Acme' }));

      // RP-initiated logout: the app sends the browser to Twofold, which asks to confirm.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Log out', exact: true }).click();
      await page.waitForLoadState();
      assert.match(await page.locator('main').innerText(), /logged out/i);
    } finally {
      await app?.close();
    }
  });
});
