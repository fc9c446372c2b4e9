/** The OpenAPI document is served, complete, and honest about which routes need a session. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachDatabase } from '../helpers/suites.ts';

const PUBLIC_OPERATIONS = ['/signup', '/login', '/login/verify', '/login/sms', '/login/webauthn/options', '/password/forgot', '/password/reset', '/invitations/{token}', '/2fa/disable-links/{token}', '/security/reports/{token}', '/email/verify', '/dev/outbox'];

forEachDatabase('OpenAPI document', (context) => {
  it('is served at /api/v1/openapi.json with readable docs beside it', async () => {
    const { server } = context();
    const document = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
    assert.equal(document.openapi, '3.0.3');
    assert.ok(document.paths['/api/v1/login'], 'the login route is documented');
    const docs = await fetch(`${server.url}/api/v1/docs/static/index.html`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
  });

  it('marks public operations with security: [] and every other operation with the session', async () => {
    const { server } = context();
    const document = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
    for (const [path, operations] of Object.entries<Record<string, { security?: unknown[] }>>(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const isPublic = PUBLIC_OPERATIONS.some((publicPath) => path === `/api/v1${publicPath}`);
        assert.ok(Array.isArray(operation.security), `${method} ${path} declares its security`);
        if (isPublic) assert.deepEqual(operation.security, [], `${method} ${path} is public`);
        else assert.ok(operation.security!.length > 0, `${method} ${path} needs the session`);
      }
    }
  });
});
