/**
 * Browser tests drive Debian's Chromium through playwright-core against a real server
 * (SQLite; the API suites cover both databases). Where /usr/bin/chromium is missing the
 * browser suites are skipped with one line saying so — unless TWOFOLD_REQUIRE_BROWSER=1,
 * which makes that a failure.
 *
 * Also here: `FormSession`, a cookie jar that fills in page forms over plain HTTP, for page
 * tests that need exact statuses and headers rather than a rendered page.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, afterEach, before, describe } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PASSWORD, uniqueEmail, waitFor } from './fixtures.ts';
import { startTestServer, type TestServer, type TestServerOptions } from './server.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let warned = false;

/** false when Chromium can run here, else why the browser suites are skipped. */
export function browserSkipReason(): string | false {
  if (existsSync(CHROMIUM_PATH)) return false;
  const reason = `Chromium not found at ${CHROMIUM_PATH}; browser tests are skipped`;
  if (process.env.TWOFOLD_REQUIRE_BROWSER === '1') throw new Error(`A browser is required (TWOFOLD_REQUIRE_BROWSER=1) but ${CHROMIUM_PATH} does not exist`);
  if (!warned) {
    warned = true;
    console.log(`# ${reason}`);
  }
  return reason;
}

/** Playwright gives every launch() a fresh temporary profile directory and removes it on close. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}

export interface BrowserSuiteContext {
  server: TestServer;
  browser: Browser;
  /** A page in a fresh browser context (its own cookies), closed after the test. */
  newPage(): Promise<Page>;
}

/** One server and one browser per suite; every test starts from a clean cookie jar. */
export function browserSuite(title: string, body: (context: () => BrowserSuiteContext) => void, options: TestServerOptions = {}): void {
  describe(title, { skip: browserSkipReason() }, () => {
    let server: TestServer | null = null;
    let browser: Browser | null = null;
    const contexts: BrowserContext[] = [];
    before(async () => {
      server = await startTestServer('sqlite', options);
      browser = await launchChromium();
    });
    afterEach(async () => {
      await Promise.all(contexts.splice(0).map((context) => context.close()));
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });
    body(() => {
      if (!server || !browser) throw new Error('browser suite used before it started');
      const started = { server, browser };
      return {
        ...started,
        newPage: async () => {
          const context = await started.browser.newContext({ baseURL: started.server.url });
          context.setDefaultTimeout(10_000);
          contexts.push(context);
          return context.newPage();
        },
      };
    });
  });
}

export interface NewAccount {
  accountName: string;
  name: string;
  email: string;
  password: string;
}

export async function signUpInBrowser(page: Page, account: NewAccount): Promise<void> {
  await page.goto('/signup');
  await page.getByLabel('Account name', { exact: true }).fill(account.accountName);
  await page.getByLabel('Your name', { exact: true }).fill(account.name);
  await page.getByLabel('Email', { exact: true }).fill(account.email);
  await page.getByLabel('Password', { exact: true }).fill(account.password);
  const status = await submitForm(page, 'Sign up');
  assert.equal(status, 303, `sign-up answered ${status}: ${await page.locator('main').innerText()}`);
}

/**
 * One new user signed in in two browsers (each its own cookies): `first` signed up, `second`
 * logged in with the password and on User Details. Two sessions, one per browser, and no other.
 */
export async function oneUserInTwoBrowsers(context: () => BrowserSuiteContext): Promise<{ email: string; first: Page; second: Page }> {
  const email = uniqueEmail('owner');
  const first = await context().newPage();
  await signUpInBrowser(first, { accountName: 'Acme', name: 'Ona Owner', email, password: PASSWORD });
  const second = await context().newPage();
  assert.equal(await logInInBrowser(second, email), 303);
  await second.waitForURL('**/user');
  return { email, first, second };
}

/** Clicks a form's submit button and returns the status the POST itself got (before redirects). */
export async function submitForm(page: Page, buttonName: string): Promise<number> {
  const answer = page.waitForResponse((response) => response.request().method() === 'POST');
  await page.getByRole('button', { name: buttonName }).click();
  const status = (await answer).status();
  await page.waitForLoadState();
  return status;
}

/** Fills in the login form; answers the status of the POST (303 when the password was right). */
export async function logInInBrowser(page: Page, email: string, password = PASSWORD): Promise<number> {
  await page.goto('/login');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  return submitForm(page, 'Log in');
}

/**
 * The link in the newest e-mail to `to` whose path contains `pathPart`, copied from the
 * /dev/outbox page as a person would. E-mails leave in the background, so wait for it first.
 */
export async function linkFromOutboxPage(page: Page, server: TestServer, to: string, pathPart: string): Promise<string> {
  await waitFor(() => server.outbox.list().some((message) => message.to === to && message.body.includes(pathPart)));
  await page.goto('/dev/outbox');
  const message = page.locator('article.message').filter({ has: page.locator('.message-to', { hasText: to }) }).filter({ hasText: pathPart }).first();
  const body = (await message.locator('pre').textContent()) ?? '';
  const match = new RegExp(`https?://\\S+${pathPart.replace(/\//g, '\\/')}[A-Za-z0-9_-]+`).exec(body);
  assert.ok(match, `no ${pathPart} link in the e-mail to ${to} on the outbox page`);
  return match[0];
}

export interface FormResponse {
  status: number;
  text: string;
  headers: Headers;
  location: string | null;
}

/** A cookie jar that loads pages and posts their forms with the page's CSRF token, over HTTP. */
export class FormSession {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly server: TestServer) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  setCookie(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const separator = pair!.indexOf('=');
      const name = pair!.slice(0, separator).trim();
      const value = pair!.slice(separator + 1).trim();
      const expired = attributes.some((attribute) => /^\s*(max-age=0|expires=thu, 01 jan 1970)/i.test(attribute));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string): Promise<FormResponse> {
    const response = await fetch(this.server.url + path, { headers: { cookie: this.cookieHeader() }, redirect: 'manual' });
    this.remember(response);
    return { status: response.status, text: await response.text(), headers: response.headers, location: response.headers.get('location') };
  }

  /** Posts `fields` to `path` as a form from our own origin; `_csrf` is taken from `formPage` unless given. */
  async post(path: string, fields: Record<string, string>, options: { formPage?: string; origin?: string | null; headers?: Record<string, string> } = {}): Promise<FormResponse> {
    const body = new URLSearchParams(fields);
    if (!('_csrf' in fields)) {
      const page = await this.get(options.formPage ?? path);
      const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
      assert.ok(token, `no CSRF token on ${options.formPage ?? path} (status ${page.status})`);
      body.set('_csrf', token);
    }
    const headers: Record<string, string> = { ...options.headers, cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' };
    const origin = options.origin === undefined ? this.server.origin : options.origin;
    if (origin !== null) headers.origin = origin;
    const response = await fetch(this.server.url + path, { method: 'POST', headers, body: body.toString(), redirect: 'manual' });
    this.remember(response);
    return { status: response.status, text: await response.text(), headers: response.headers, location: response.headers.get('location') };
  }
  /** Posts JSON to an API path with the cookies and our Origin, as a page's script does with fetch(). */
  async postJSON(path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { cookie: this.cookieHeader(), origin: this.server.origin };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(this.server.url + path, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
    this.remember(response);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }
}
