/**
 * `forEachDatabase` runs one suite against SQLite and against PostgreSQL, each with its own
 * fresh server and database (the shared contract suite idea of Ory Kratos).
 */
import { after, before, describe } from 'node:test';
import { databaseTargets, type DatabaseKind } from './databases.ts';
import { apiClient, type APIClient } from './http.ts';
import { startTestServer, type TestServer, type TestServerOptions } from './server.ts';

export interface SuiteContext {
  kind: DatabaseKind;
  server: TestServer;
  api: APIClient;
}

const targets = await databaseTargets();

export function forEachDatabase(title: string, body: (context: () => SuiteContext) => void, options: TestServerOptions = {}): void {
  for (const target of targets) {
    describe(`${title} [${target.kind}]`, { skip: target.skip }, () => {
      let context: SuiteContext | null = null;
      before(async () => {
        const server = await startTestServer(target.kind, options);
        context = { kind: target.kind, server, api: apiClient(server.url) };
      });
      after(async () => {
        await context?.server.close();
      });
      body(() => {
        if (!context) throw new Error('suite context used before the server started');
        return context;
      });
    });
  }
}
