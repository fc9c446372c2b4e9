/** describeUserAgent: browser family and system from real User-Agent headers, the specific tokens first. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeUserAgent } from '../../src/users/user-agent.ts';
import { describeDetail } from '../../src/http/views/security-log.ts';

const CASES: Array<[string, string, string]> = [
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome', 'macOS'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Edge', 'Windows'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0', 'Opera', 'Windows'],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox', 'Linux'],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', 'Safari', 'macOS'],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', 'Safari', 'iOS'],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1', 'Chrome', 'iOS'],
  ['Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15', 'Firefox', 'iOS'],
  ['Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome', 'Android'],
  ['Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36', 'Samsung Internet', 'Android'],
  ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome', 'ChromeOS'],
  ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36', 'Headless Chrome', 'Linux'],
  ['curl/8.5.0', 'curl', 'Unknown system'],
];

describe('describeUserAgent', () => {
  it('names the browser family and system of the major browsers, the more specific token first', () => {
    for (const [header, browser, os] of CASES) assert.deepEqual([describeUserAgent(header).browser, describeUserAgent(header).os], [browser, os], header);
  });

  it('labels them "Browser on System", and says "Unknown browser" for nothing recognisable', () => {
    assert.equal(describeUserAgent(CASES[0]![0]).label, 'Chrome on macOS');
    assert.equal(describeUserAgent('curl/8.5.0').label, 'curl');
    for (const nothing of [null, undefined, '', 'TestAgent/1.0', '=HYPERLINK("http://evil")']) assert.equal(describeUserAgent(nothing).label, 'Unknown browser', String(nothing));
    assert.equal(describeUserAgent('Something (Windows NT 10.0)').label, 'Unknown browser on Windows');
  });

  it('reads a huge header in bounded time', () => {
    const started = process.hrtime.bigint();
    describeUserAgent('Mozilla/5.0 ' + 'AppleWebKit/ '.repeat(100_000));
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 200);
  });
});

describe('security log details as text', () => {
  it('reads stored details as labelled sentences: method names, yes/no, words instead of codes', () => {
    assert.equal(describeDetail({ methods: 'totp,sms', all: true }), 'Methods: Mobile App, SMS Message; All methods: yes');
    assert.equal(describeDetail({ reason: 'wrong_password' }), 'Reason: wrong password');
    assert.equal(describeDetail({ from: 'user', to: 'admin' }), 'From: User; To: Administrator');
    assert.equal(describeDetail({ someNewKey: 3 }), 'Some new key: 3');
    assert.equal(describeDetail({ reason: 'Lost phone, called support' }), 'Reason: Lost phone, called support');
    assert.equal(describeDetail({}), '');
  });
});
