/**
 * What the two-factor browser suites do the way a person would: read the QR code off the page
 * and decode it with an independent decoder (librsvg renders the SVG, Debian's zbarimg reads
 * it), read the secret shown for manual entry, type codes from `oathtool` (an independent
 * RFC 6238 implementation) for the server's manual clock, and walk the enrollment pages; and the
 * set-up steps the Chromium and plain-HTTP (FormSession) suites share.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { currentCode, enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';
import type { TestServer } from '../helpers/server.ts';
import { FormSession, logInInBrowser, submitForm } from '../helpers/browser.ts';
import { inviteAndAccept, PASSWORD, signUp } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';

/** The URI the QR code image on the page encodes. */
export async function decodeQRCodeOnPage(page: Page): Promise<string> {
  const source = await page.getByRole('img', { name: 'QR code' }).getAttribute('src');
  const match = /^data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)$/.exec(source ?? '');
  assert.ok(match, `the QR code is not an SVG data URI: ${source?.slice(0, 60)}`);
  const folder = mkdtempSync(join(tmpdir(), 'twofold-qr-'));
  try {
    const svg = join(folder, 'qr.svg');
    const png = join(folder, 'qr.png');
    writeFileSync(svg, Buffer.from(match[1]!, 'base64'));
    // stderr is kept from the test output (zbarimg complains about a missing D-Bus) but still
    // travels in the thrown error when a tool fails.
    const quiet = { stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'] };
    execFileSync('rsvg-convert', ['--width', '400', '--background-color', 'white', '--output', png, svg], quiet);
    return execFileSync('zbarimg', ['--quiet', '--raw', png], { ...quiet, encoding: 'utf8' }).trim();
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** The secret as the page shows it for manual entry, without the grouping spaces. */
export async function secretOnPage(page: Page): Promise<string> {
  const shown = (await page.locator('.secret code').innerText()).trim();
  assert.match(shown, /^([A-Z2-7]{4} )*[A-Z2-7]{1,4}$/, `secret shown as ${JSON.stringify(shown)}`);
  return shown.replace(/ /g, '');
}

/** From User Details: "Mobile App", the phone, "Continue" — up to the QR code. */
export async function openAppEnrollment(page: Page, os: 'iPhone' | 'Android'): Promise<void> {
  await page.goto('/user');
  await page.locator('#two-factor-enrollment').getByRole('button', { name: 'Mobile App' }).click();
  await page.getByRole('heading', { name: 'Mobile App', level: 1 }).waitFor();
  await page.getByRole('button', { name: os }).click();
  await page.getByRole('heading', { name: `Recommended apps for ${os}` }).waitFor();
  assert.equal(await submitForm(page, 'Continue'), 200);
  await page.getByRole('img', { name: 'QR code' }).waitFor();
}

/** Types the code for the server's current time into "Confirm" and submits it; answers the status. */
export async function confirmWithCode(page: Page, server: TestServer, secret: string): Promise<number> {
  await page.getByLabel('Confirm', { exact: true }).fill(currentCode(server, secret));
  return submitForm(page, 'Confirm');
}

export async function recoveryCodesOnPage(page: Page): Promise<string[]> {
  await page.getByRole('heading', { name: 'Recovery codes', level: 1 }).waitFor();
  return (await page.getByRole('list', { name: 'Your recovery codes' }).getByRole('listitem').allInnerTexts()).map((code) => code.trim());
}

/** The whole enrollment from User Details; answers the secret and the recovery codes shown. */
export async function enrollInBrowser(page: Page, server: TestServer, os: 'iPhone' | 'Android' = 'iPhone'): Promise<{ secret: string; recoveryCodes: string[] }> {
  await openAppEnrollment(page, os);
  const secret = await secretOnPage(page);
  assert.equal(await confirmWithCode(page, server, secret), 200);
  return { secret, recoveryCodes: await recoveryCodesOnPage(page) };
}

export async function sessionCookie(page: Page): Promise<string | undefined> {
  return (await page.context().cookies()).find((cookie) => cookie.name === 'twofold_session')?.value;
}

/**
 * Issue 5's starting point for the enforcement stories: an admin with the authenticator app
 * (needed to turn enforcement on) and an invited user without 2FA, set up over the API.
 */
export async function adminWithAppAndUser(server: TestServer) {
  const api = apiClient(server.url);
  const admin = await signUp(api);
  const adminApp = await enrollAuthenticatorApp(server, api, admin.token);
  const user = await inviteAndAccept(server, api, adminApp.token);
  return { api, admin, adminApp, user };
}

/** The whole login in Chromium: password, then the app's code for the next time step, landing on User Details. */
export async function logInWithAppCode(page: Page, server: TestServer, email: string, secret: string): Promise<void> {
  assert.equal(await logInInBrowser(page, email), 303);
  await page.getByLabel('Verification code').fill(nextStepCode(server, secret));
  await submitForm(page, 'Continue');
  await page.waitForURL('**/user');
}

/**
 * A login over plain HTTP (FormSession). With the app's secret, the second step too, with a code
 * a step later than the one that confirmed the app (which cannot be used twice).
 */
export async function logInOverHTTP(server: TestServer, email: string, secret?: string): Promise<FormSession> {
  const browser = new FormSession(server);
  const login = await browser.post('/login', { email, password: PASSWORD });
  assert.equal(login.status, 303, login.text);
  if (secret) {
    assert.equal(login.location, '/login/verify');
    server.clock.advance(30_000);
    const verified = await browser.post('/login/verify', { method: 'totp', code: currentCode(server, secret) });
    assert.equal(verified.status, 303, verified.text);
  }
  return browser;
}

/** The secret in a page's HTML, as shown for manual entry, without the grouping spaces. */
export function secretIn(page: string): string {
  const shown = /data-secret>([A-Z2-7 ]+)</.exec(page)?.[1];
  assert.ok(shown, 'no secret on the page');
  return shown.replace(/ /g, '');
}

/** The pending enrollment's id in a page's HTML (the hidden field of the Confirm form). */
export function enrollmentIdIn(page: string): string {
  const id = /name="enrollmentId" value="([^"]+)"/.exec(page)?.[1];
  assert.ok(id, 'no enrollment id on the page');
  return id;
}
