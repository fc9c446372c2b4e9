/**
 * Forged form posts in a real browser (SECURITY.md rule 26). The signed-in admin's cookies go
 * along with both forgeries — a page on another port of the same host is the same *site*, so
 * SameSite=Lax does not stop it — and the server must still refuse them.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, it } from 'node:test';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures.ts';
import { browserSuite, signUpInBrowser } from '../helpers/browser.ts';
import { escapeHTML } from '../../src/http/views/html.ts';

browserSuite('forged form posts in a browser', (context) => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  async function signedInAdmin() {
    const page = await context().newPage();
    await signUpInBrowser(page, { accountName: 'Acme', name: 'Ada Admin', email: uniqueEmail('admin'), password: PASSWORD });
    await page.waitForURL('**/user');
    return page;
  }

  async function usersNamed(name: string): Promise<number> {
    const rows = await context().server.deps.db.selectFrom('users').select('id').where('name', '=', name).execute();
    return rows.length;
  }

  it('refuses a form posted without its CSRF token, and nothing changes', async () => {
    const page = await signedInAdmin();
    await page.goto('/settings/users');
    await page.locator('form[action="/settings/users"] input[name="_csrf"]').evaluate((input) => input.remove());
    await page.getByLabel('Email', { exact: true }).fill(uniqueEmail('forged'));
    await page.getByLabel('Name', { exact: true }).fill('Tokenless Forgery');
    const answer = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith('/settings/users'));
    await page.getByRole('button', { name: 'Invite' }).click();
    assert.equal((await answer).status(), 403);
    await page.getByText('The request did not come from this site').waitFor();
    assert.equal(await usersNamed('Tokenless Forgery'), 0);
  });

  it('refuses a form posted from another origin even when it carries a valid token', async () => {
    const { server } = context();
    const page = await signedInAdmin();
    await page.goto('/settings/users');
    const token = await page.locator('form[action="/settings/users"] input[name="_csrf"]').getAttribute('value');
    assert.ok(token);

    const evil = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.end(`<!doctype html><title>Win a prize</title>
<form method="post" action="${escapeHTML(server.url)}/settings/users">
<input type="hidden" name="_csrf" value="${escapeHTML(token)}">
<input type="hidden" name="email" value="${uniqueEmail('forged')}">
<input type="hidden" name="name" value="Cross Origin Forgery">
<input type="hidden" name="role" value="admin">
<button>Claim your prize</button>
</form>`);
    });
    servers.push(evil);
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const address = evil.address();
    assert.ok(address && typeof address === 'object');

    await page.goto(`http://127.0.0.1:${address.port}/`);
    const answer = page.waitForResponse((response) => response.request().method() === 'POST');
    await page.getByRole('button', { name: 'Claim your prize' }).click();
    assert.equal((await answer).status(), 403);
    assert.equal(await usersNamed('Cross Origin Forgery'), 0);
  });
});
