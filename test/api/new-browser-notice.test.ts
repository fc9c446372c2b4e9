/**
 * The new-browser login notice (PRODUCT.md §2.12, issue 16): a completed login from a browser the
 * user has not logged in from before e-mails the user, with the report link — once per browser.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { FormSession } from '../helpers/browser.ts';
import { logIn, PASSWORD, signUp } from '../helpers/fixtures.ts';
import { forEachDatabase, type SuiteContext } from '../helpers/suites.ts';

const SUBJECT = 'New login to your Twofold account';
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';

function notices(context: SuiteContext, email: string) {
  return context.server.outbox.list().filter((m) => m.to === email && m.subject === SUBJECT);
}

/** The same browser after its session ended: a new cookie jar holding only the browser cookie. */
function sameBrowserLater(context: SuiteContext, browser: FormSession): FormSession {
  const later = new FormSession(context.server);
  later.setCookie('twofold_browser', browser.cookie('twofold_browser')!);
  return later;
}

async function pageLogin(browser: FormSession, email: string): Promise<void> {
  const answer = await browser.post('/login', { email, password: PASSWORD }, { headers: { 'user-agent': FIREFOX_LINUX } });
  assert.equal(answer.status, 303, answer.text);
}

forEachDatabase('the new-browser login notice', (context) => {
  it('e-mails the user once per new browser (with the report link), never for a browser already used, nor for the very first browser', async () => {
    const { api } = context();
    const { email } = await signUp(api);
    const laptop = new FormSession(context().server);
    await pageLogin(laptop, email);
    assert.equal(notices(context(), email).length, 0, 'the first browser sets the baseline');
    const cookie = laptop.cookie('twofold_browser');
    assert.match(cookie ?? '', /^[A-Za-z0-9_-]{43}$/, 'a 256-bit random browser cookie');
    await pageLogin(sameBrowserLater(context(), laptop), email);
    assert.equal(notices(context(), email).length, 0, 'a known browser is not announced');

    const phone = new FormSession(context().server);
    await pageLogin(phone, email);
    const [notice] = notices(context(), email);
    assert.ok(notice, 'a new browser is announced');
    assert.match(notice.body, /Firefox on Linux/);
    assert.match(notice.body, /\/security\/report\/[A-Za-z0-9_-]{43}\n/);
    await pageLogin(sameBrowserLater(context(), phone), email);
    assert.equal(notices(context(), email).length, 1, 'once per browser');
    const stored = await context().server.deps.db.selectFrom('known_browsers').select('browser_hash').execute();
    assert.ok(!JSON.stringify(stored).includes(cookie!), 'only a hash of the cookie is stored');
  });

  it('does not announce logins through the Bearer API (no cookie jar: every one would read as new)', async () => {
    const { api } = context();
    const { email } = await signUp(api);
    await pageLogin(new FormSession(context().server), email);
    for (let login = 0; login < 3; login += 1) await logIn(api, email);
    assert.equal(notices(context(), email).length, 0);
  });

  it('concurrent logins from one new browser send one notice', async () => {
    const { api } = context();
    const { email } = await signUp(api);
    await pageLogin(new FormSession(context().server), email);
    const shared = randomBytes(32).toString('base64url');
    const tabs = Array.from({ length: 4 }, () => {
      const tab = new FormSession(context().server);
      tab.setCookie('twofold_browser', shared);
      return tab;
    });
    await Promise.all(tabs.map((tab) => pageLogin(tab, email)));
    assert.equal(notices(context(), email).length, 1);
  });

  it('a forged or malformed browser cookie is replaced by a fresh one and counts as a new browser', async () => {
    const { api } = context();
    const { email } = await signUp(api);
    await pageLogin(new FormSession(context().server), email);
    const forged = new FormSession(context().server);
    forged.setCookie('twofold_browser', 'not-a-real-value');
    await pageLogin(forged, email);
    assert.notEqual(forged.cookie('twofold_browser'), 'not-a-real-value');
    assert.equal(notices(context(), email).length, 1);
  });
});
