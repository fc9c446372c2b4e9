/**
 * "This wasn't me" and the Sessions list in a real browser (PRODUCT.md §2.11, §2.12): an intruder
 * logs in from a second browser, the owner is told by e-mail, opens the report link from the
 * outbox in theirs and presses "Secure my account" — the intruder's next page is the login page.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { browserSuite, linkFromOutboxPage, logInInBrowser, oneUserInTwoBrowsers, signUpInBrowser, submitForm } from '../helpers/browser.ts';
import { PASSWORD, uniqueEmail, waitFor } from '../helpers/fixtures.ts';

browserSuite('"This wasn\'t me" and sessions in a browser', (context) => {
  it('a report link from the outbox ends the intruder\'s session in a second browser and blocks the password', async () => {
    const { server } = context();
    const email = uniqueEmail('owner');
    const signup = await context().newPage();
    await signUpInBrowser(signup, { accountName: 'Acme', name: 'Ona Owner', email, password: PASSWORD });
    const owner = await context().newPage();
    assert.equal(await logInInBrowser(owner, email), 303, 'the owner\'s usual browser');

    const intruder = await context().newPage();
    assert.equal(await logInInBrowser(intruder, email), 303, 'someone else who has the password');
    await intruder.waitForURL('**/user');
    await waitFor(() => server.outbox.list().some((m) => m.to === email && m.subject === 'New login to your Twofold account'));

    const link = await linkFromOutboxPage(owner, server, email, '/security/report/');
    await owner.goto(link);
    await owner.getByRole('heading', { name: 'Was this not you?' }).waitFor();
    assert.equal(await submitForm(owner, 'Secure my account'), 200);
    await owner.getByRole('heading', { name: 'Your account is secured' }).waitFor();

    await intruder.goto('/user');
    assert.match(new URL(intruder.url()).pathname, /^\/login$/, 'the intruder is signed out');
    assert.notEqual(await logInInBrowser(intruder, email), 303, 'and the password no longer logs in');
    await intruder.getByRole('alert').filter({ hasText: 'The email or password is incorrect.' }).waitFor();
  });

  it('User Details lists the sessions with browser, IP and last seen, and "Sign out other sessions" ends the others', async () => {
    const { first, second } = await oneUserInTwoBrowsers(context);

    const section = second.getByRole('region', { name: 'Sessions' });
    const rows = section.locator('tbody tr');
    assert.equal(await rows.count(), 2);
    const texts = await rows.allInnerTexts();
    assert.ok(texts.every((text) => /Headless Chrome on Linux/.test(text) && /127\.0\.0\.1/.test(text) && /UTC/.test(text)), texts.join('\n'));
    assert.equal(await rows.filter({ hasText: '(this browser)' }).count(), 1);

    assert.equal(await submitForm(second, 'Sign out other sessions'), 303);
    await second.waitForURL('**/user#sessions');
    assert.equal(await section.locator('tbody tr').count(), 1);
    await first.goto('/user');
    assert.match(new URL(first.url()).pathname, /^\/login$/, 'the other browser is signed out');
  });
});
