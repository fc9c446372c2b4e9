/**
 * A bounded shutdown (issue 13): SIGTERM must not wait for browsers' keep-alive connections, or a
 * rolling deploy hangs. Idle connections close at once; a connection with a request still in
 * progress gets SHUTDOWN_DRAIN_SECONDS, then is closed. Real `twofold serve` processes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.ts';
import { freePort, TEST_ENCRYPTION_KEY } from '../helpers/server.ts';

const bin = fileURLToPath(new URL('../../bin/twofold.js', import.meta.url));

async function startServer(database: TestDatabase, env: Record<string, string> = {}): Promise<{ port: number; child: ChildProcess; exited: Promise<number | null> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: { ...process.env, NODE_ENV: 'development', PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, DATABASE_URL: database.url, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'error', SMTP_URL: '', REDIS_URL: '', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) return { port, child, exited };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error('twofold serve did not start');
}

/** Seconds from SIGTERM to exit; a hang is cut at 30 s. */
async function secondsToExit(server: { child: ChildProcess; exited: Promise<number | null> }): Promise<number> {
  const started = Date.now();
  server.child.kill('SIGTERM');
  const hung = setTimeout(() => server.child.kill('SIGKILL'), 30_000);
  await server.exited;
  clearTimeout(hung);
  return (Date.now() - started) / 1000;
}

describe('shutting down with connections open', () => {
  const databases: TestDatabase[] = [];
  after(async () => {
    for (const database of databases) await database.drop();
  });

  it('exits at once while a browser holds an idle keep-alive connection', async () => {
    const database = await createTestDatabase('sqlite');
    databases.push(database);
    const server = await startServer(database);
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    // One request; the connection then stays open and idle in the agent, as a browser's does.
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: server.port, path: '/healthz', agent }, (response) => {
        response.resume();
        response.on('end', resolve);
      }).on('error', reject);
    });
    assert.equal(Object.values(agent.freeSockets).flat().length, 1, 'a keep-alive connection is open');
    const seconds = await secondsToExit(server);
    agent.destroy();
    assert.ok(seconds < 3, `took ${seconds.toFixed(1)} s to exit`);
  });

  it('closes a connection whose request never finishes once SHUTDOWN_DRAIN_SECONDS are over', async () => {
    const database = await createTestDatabase('sqlite');
    databases.push(database);
    const server = await startServer(database, { SHUTDOWN_DRAIN_SECONDS: '1' });
    // Half a request: the connection is busy, so it is not idle, and would hold the server
    // until Node's own header timeout (a minute) without the drain bound.
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    socket.on('error', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const seconds = await secondsToExit(server);
    socket.destroy();
    assert.ok(seconds >= 0.9 && seconds < 5, `took ${seconds.toFixed(1)} s to exit (drain 1 s)`);
    assert.equal(await server.exited, 0, 'a clean exit');
  });
});
