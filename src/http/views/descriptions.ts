/** People's words for stored values that several pages show: methods and roles (times: time.ts). */

const methodNames: Record<string, string> = { totp: 'Mobile App', sms: 'SMS Message', webauthn: 'Security Key' };

/** People's names for second-factor methods, as the User Details page offers them. */
export function describeMethods(methods: readonly string[]): string {
  return methods.length === 0 ? 'Not enabled' : methods.map((method) => methodNames[method] ?? method).join(', ');
}

export function describeRole(role: 'admin' | 'user'): string {
  return role === 'admin' ? 'Administrator' : 'User';
}
