/**
 * Rule 34 in its strict form: a route that takes no body refuses one that carries fields (400
 * invalid_request, nothing done), as routes with a body refuse unknown fields; a missing or empty
 * body stays accepted. Nothing the client adds can steer these requests — the text goes to the
 * number on record, the link to the user's own address.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, logIn, signUp } from '../helpers/fixtures.ts';
import { enrollSMS, textsTo } from '../helpers/sms.ts';
import { enrollAuthenticatorApp, passwordStep } from '../helpers/two-factor.ts';
import { forEachDatabase } from '../helpers/suites.ts';

const FIELD_BODIES: Array<[string, unknown]> = [
  ['an unknown field', { phone: '+14155550123' }],
  ['a harmless-looking field', { unused: true }],
  ['a JSON array', [1]],
  ['a JSON string', 'text'],
];

forEachDatabase('routes without a body refuse fields (rule 34)', (context) => {
  it('POST /me/2fa/totp refuses fields with 400 and starts no enrollment; no body or {} starts one', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    for (const [name, body] of FIELD_BODIES) {
      const answer = await api.post('/me/2fa/totp', body, { token: admin.token });
      assert.equal(answer.status, 400, `${name}: ${answer.text}`);
      assert.equal(answer.body.error, 'invalid_request');
      assert.match(answer.body.message, /takes no fields/);
    }
    const pending = await server.deps.db.selectFrom('totp_enrollments').select('id').where('user_id', '=', admin.userId).execute();
    assert.equal(pending.length, 0, 'no enrollment was started');
    assert.equal((await api.post('/me/2fa/totp', undefined, { token: admin.token })).status, 201);
    assert.equal((await api.post('/me/2fa/totp', {}, { token: admin.token })).status, 201);
  });

  it('POST /login/sms refuses fields with 400 and texts nothing; no body texts the number on record', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { phone } = await enrollSMS(server, api, admin.token);
    const half = await passwordStep(api, admin.email);
    const sent = textsTo(server, phone).length;
    server.clock.advance(60_000);
    for (const [name, body] of FIELD_BODIES) {
      const answer = await api.post('/login/sms', body, { token: half });
      assert.equal(answer.status, 400, `${name}: ${answer.text}`);
      assert.equal(answer.body.error, 'invalid_request');
    }
    assert.equal(textsTo(server, phone).length, sent, 'no text was sent');
    assert.equal((await api.post('/login/sms', undefined, { token: half })).status, 202);
  });

  it('POST /me/2fa/recovery-codes refuses fields with 400 and keeps the old set; {} makes a new set', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
    for (const [name, body] of FIELD_BODIES) {
      const answer = await api.post('/me/2fa/recovery-codes', body, { token: enrolled.token });
      assert.equal(answer.status, 400, `${name}: ${answer.text}`);
      assert.equal(answer.body.error, 'invalid_request');
    }
    const events = await server.deps.db.selectFrom('security_events').select('id').where('subject_user_id', '=', admin.userId).where('type', '=', 'recovery_codes_regenerated').execute();
    assert.equal(events.length, 0, 'the set was not replaced');
    const fresh = await api.post('/me/2fa/recovery-codes', {}, { token: enrolled.token });
    assert.equal(fresh.status, 200, fresh.text);
  });

  it('POST /account/users/{id}/2fa-disable-link refuses fields with 400 and e-mails nothing; no body sends the link', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const member = await inviteAndAccept(server, api, admin.token);
    const memberSession = await logIn(api, member.email);
    await enrollAuthenticatorApp(server, api, memberSession.token);
    const linksTo = () => server.outbox.list().filter((m) => m.to === member.email && m.body.includes('/2fa/disable/')).length;
    for (const [name, body] of [...FIELD_BODIES, ['a redirect of the link', { email: 'attacker@example.com' }] as [string, unknown]]) {
      const answer = await api.post(`/account/users/${member.userId}/2fa-disable-link`, body, { token: admin.token });
      assert.equal(answer.status, 400, `${name}: ${answer.text}`);
      assert.equal(answer.body.error, 'invalid_request');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(linksTo(), 0, 'no link was sent');
    assert.equal((await api.post(`/account/users/${member.userId}/2fa-disable-link`, undefined, { token: admin.token })).status, 202);
  });
});
