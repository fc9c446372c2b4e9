/**
 * Without ENCRYPTION_KEY, development generates a key beside the SQLite file, and the start-up
 * warning names that real path (not ./data when the database is elsewhere) and says that moving
 * to a real key is a rotation (rule 29: whoever backs up or moves the database must know where
 * the key that decrypts it is).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/server.ts';
import { twofoldBin as bin } from '../helpers/twofold-command.ts';

describe('the development key warning', () => {
  let folder: string;
  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'twofold-devkey-'));
  });
  after(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('names the generated key file beside the SQLite database, wherever that is, and calls the move to a real key a rotation', async () => {
    const databaseFolder = join(folder, 'elsewhere');
    const port = await freePort();
    const server = spawn(process.execPath, [bin, 'serve'], {
      env: { ...process.env, NODE_ENV: 'development', ENCRYPTION_KEY: '', DATABASE_URL: `sqlite:${join(databaseFolder, 'twofold.db')}`, PORT: String(port), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    let output = '';
    server.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const deadline = Date.now() + 60_000;
      while (!/ENCRYPTION_KEY is not set/.test(output) && Date.now() < deadline && server.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 100));
      const warning = output.split('\n').find((line) => line.includes('ENCRYPTION_KEY is not set'));
      assert.ok(warning, `no development key warning in:\n${output}`);
      const keyPath = join(databaseFolder, 'dev-encryption.key');
      assert.ok(warning.includes(`development key ${keyPath}`), `the warning does not name ${keyPath}: ${warning}`);
      assert.ok(!warning.includes('./data'), warning);
      assert.match(warning, /rotation.*PREVIOUS_ENCRYPTION_KEYS/);
      assert.ok(existsSync(keyPath), 'the key is where the warning says');
      // Stop it once it serves, when its graceful shutdown is in place.
      let healthy = false;
      while (!healthy && Date.now() < deadline) {
        healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
        if (!healthy) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(healthy, 'the server answers /healthz');
    } finally {
      server.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });
});
