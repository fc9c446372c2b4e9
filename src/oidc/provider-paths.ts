/**
 * Where the OpenID Provider answers, and the pages it asks the HTTP layer to draw. Apart from
 * provider.ts so that importing them does not load oidc-provider itself.
 */
export const OIDC_PATHS = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  userinfo: '/oidc/me',
  jwks: '/oidc/jwks',
  end_session: '/oidc/session/end',
  revocation: '/oidc/token/revocation',
} as const;

/** oidc-provider's session cookie (its default name): Twofold's logout ends the session it names. */
export const PROVIDER_SESSION_COOKIE = '_session';

export function interactionPath(uid: string): string {
  return `/oidc/interaction/${uid}`;
}

/** The pages the provider itself renders, drawn by http/views so they keep the site's CSP. */
export interface ProviderPages {
  error(status: number, message: string): string;
  logoutConfirmation(action: string, xsrf: string, clientName: string | null): string;
  loggedOut(clientName: string | null): string;
}

