/**
 * Runs the example app: `node --import tsx examples/saas-app/main.ts` with
 *   TWOFOLD_URL (Twofold's PUBLIC_URL), CLIENT_ID, CLIENT_SECRET (from `twofold oidc add-client`),
 *   APP_URL (default http://127.0.0.1:3001), REQUIRE_MFA=1 to ask every sign-in for a second factor.
 */
import { buildSaaSApp } from './app.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`saas-app: set ${name} (see the README, "Connect your application")`);
    process.exit(2);
  }
  return value;
}

const appURL = new URL(process.env.APP_URL ?? 'http://127.0.0.1:3001');
const app = await buildSaaSApp({ issuer: required('TWOFOLD_URL'), clientId: required('CLIENT_ID'), clientSecret: required('CLIENT_SECRET'), appURL: appURL.origin, requireMFA: process.env.REQUIRE_MFA === '1' });
await app.listen({ host: appURL.hostname, port: Number(appURL.port || 80) });
console.log(`Acme App at ${appURL.origin} — open it and click "Sign in with Twofold"`);
