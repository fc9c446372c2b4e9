/**
 * Security keys in real Chromium (PRODUCT.md §2.9, §6 "Security keys in tests"), with the
 * DevTools protocol's virtual authenticators: a CTAP2 key over USB and an internal platform
 * passkey with user verification, on PUBLIC_URL http://localhost:PORT (an IP address cannot be
 * a relying party ID). Register from User Details, log out, log in with the key, add a second
 * key, remove the first, log in again with the second.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { CDPSession, Page } from 'playwright-core';
import { inviteAndAccept, logIn, signUp } from '../helpers/fixtures.ts';
import { enrollAuthenticatorApp } from '../helpers/two-factor.ts';
import { apiClient } from '../helpers/http.ts';
import { browserSuite, logInInBrowser } from '../helpers/browser.ts';

async function addAuthenticator(cdp: CDPSession, kind: 'usb' | 'internal'): Promise<string> {
  const options =
    kind === 'usb'
      ? { protocol: 'ctap2', transport: 'usb', hasResidentKey: false, hasUserVerification: false, automaticPresenceSimulation: true }
      : { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true };
  const { authenticatorId } = (await cdp.send('WebAuthn.addVirtualAuthenticator', { options } as never)) as { authenticatorId: string };
  return authenticatorId;
}

async function registerFromUserDetails(page: Page, name: string, expectRecoveryCodes: boolean): Promise<void> {
  await page.goto('/user');
  await page.locator('#two-factor-enrollment').getByRole('button', { name: /^(Security Key|Add a security key)$/ }).click();
  await page.getByRole('heading', { name: 'Security Key', level: 1 }).waitFor();
  await page.getByLabel('Key name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Register' }).click();
  if (expectRecoveryCodes) {
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    assert.equal(await page.locator('[data-recovery-code-list] li').count(), 10);
    await page.getByRole('link', { name: 'Continue' }).click();
  }
  await page.waitForURL('**/user');
  await page.getByRole('cell', { name, exact: true }).waitFor();
}

async function logOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL('**/login');
}

async function logInWithKey(page: Page, email: string): Promise<void> {
  assert.equal(await logInInBrowser(page, email), 303);
  await page.waitForURL('**/login/verify');
  await page.getByRole('button', { name: 'Use your security key' }).click();
  await page.waitForURL('**/user');
}

browserSuite(
  'security keys in a browser',
  (context) => {
    it('registers a USB key and a platform passkey from User Details, logs in with each, removes one', async () => {
      const { server, browser } = context();
      const { email, userId } = await signUp(apiClient(server.url));
      const browserContext = await browser.newContext({ baseURL: server.origin });
      browserContext.setDefaultTimeout(10_000);
      try {
        const page = await browserContext.newPage();
        const cdp = await browserContext.newCDPSession(page);
        await cdp.send('WebAuthn.enable');
        const usbKey = await addAuthenticator(cdp, 'usb');
        assert.equal(await logInInBrowser(page, email), 303);
        await page.goto('/user/two-factor/security-key');
        assert.equal(await page.getByText('A security key needs JavaScript').isVisible(), false, 'with JavaScript the notice is hidden');
        await registerFromUserDetails(page, 'YubiKey', true);
        await logOut(page);
        await logInWithKey(page, email);

        // The second key: a passkey on this computer (the USB key unplugged).
        await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: usbKey });
        await addAuthenticator(cdp, 'internal');
        await registerFromUserDetails(page, 'Work laptop', false);
        await page.getByRole('button', { name: 'Remove YubiKey' }).click();
        await page.waitForURL('**/user');
        await page.getByRole('cell', { name: 'Work laptop', exact: true }).waitFor();
        assert.equal(await page.getByRole('cell', { name: 'YubiKey', exact: true }).count(), 0);

        await logOut(page);
        await logInWithKey(page, email);
        const keys = await server.deps.db.selectFrom('webauthn_credentials').select(['name', 'user_verified', 'last_used_at']).where('user_id', '=', userId).execute();
        assert.deepEqual(keys.map((key) => key.name), ['Work laptop']);
        assert.equal(keys[0]!.user_verified, 1);
        assert.ok(keys[0]!.last_used_at);
      } finally {
        await browserContext.close();
      }
    });

    it('an admin with a key requires a phishing-resistant method on Account Settings; an app-only user is sent to setup with only the key offered', async () => {
      const { server, browser } = context();
      const api = apiClient(server.url);
      const admin = await signUp(api);
      const member = await inviteAndAccept(server, api, admin.token);
      await enrollAuthenticatorApp(server, api, (await logIn(api, member.email)).token);
      const adminContext = await browser.newContext({ baseURL: server.origin });
      const memberContext = await browser.newContext({ baseURL: server.origin });
      adminContext.setDefaultTimeout(10_000);
      memberContext.setDefaultTimeout(10_000);
      try {
        const page = await adminContext.newPage();
        const cdp = await adminContext.newCDPSession(page);
        await cdp.send('WebAuthn.enable');
        await addAuthenticator(cdp, 'internal');
        assert.equal(await logInInBrowser(page, admin.email), 303);
        await registerFromUserDetails(page, 'Laptop passkey', true);
        await page.goto('/settings/account');
        await page.getByLabel('Require a phishing-resistant method (security keys only)').check();
        await page.getByRole('button', { name: 'Save Allowed Methods' }).click();
        await page.getByText('This change sends 1 user to two-factor setup').waitFor();
        await page.getByRole('button', { name: 'Confirm Allowed Methods' }).click();
        await page.getByText('Allowed methods saved. 1 user is sent to two-factor setup.').waitFor();

        const memberPage = await memberContext.newPage();
        assert.equal(await logInInBrowser(memberPage, member.email), 303);
        await memberPage.waitForURL('**/user');
        await memberPage.getByText('Your account administrator requires two-factor authentication').waitFor();
        const offered = memberPage.locator('#two-factor-enrollment');
        await offered.getByRole('button', { name: 'Security Key' }).waitFor();
        assert.equal(await offered.getByRole('button', { name: 'Mobile App' }).count(), 0);
      } finally {
        await adminContext.close();
        await memberContext.close();
      }
    });

    it('without JavaScript the Verification Code page says a key needs it and offers the other methods', async () => {
      const { server, browser } = context();
      const api = apiClient(server.url);
      const { email, userId } = await signUp(api);
      // A key stored as the API would store it, so the page has a key to offer.
      await server.deps.db.insertInto('factors').values({ id: 'f-' + userId, user_id: userId, kind: 'webauthn', secret_encrypted: '', last_used_step: null, created_at: 1, confirmed_at: 1 }).execute();
      const browserContext = await browser.newContext({ baseURL: server.origin, javaScriptEnabled: false });
      try {
        const page = await browserContext.newPage();
        assert.equal(await logInInBrowser(page, email), 303);
        await page.waitForURL('**/login/verify');
        await page.getByText('A security key needs JavaScript').waitFor();
        await page.getByRole('link', { name: 'Use a recovery code' }).waitFor();
        assert.equal(await page.getByRole('button', { name: 'Use your security key' }).isVisible(), false);
      } finally {
        await browserContext.close();
      }
    });
  },
  { publicHost: 'localhost' },
);
