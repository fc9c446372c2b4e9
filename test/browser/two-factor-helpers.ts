/**
 * What the two-factor browser suites do the way a person would: read the QR code off the page
 * and decode it with an independent decoder (librsvg renders the SVG, Debian's zbarimg reads
 * it), read the secret shown for manual entry, type codes from `oathtool` (an independent
 * RFC 6238 implementation) for the server's manual clock, and walk the enrollment pages.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { currentCode } from '../helpers/two-factor.ts';
import type { TestServer } from '../helpers/server.ts';
import { submitForm } from '../helpers/browser.ts';

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
