/** Request and response schemas shared by the API routes; they validate and document at once. */
import { Type } from 'typebox';

export const ErrorSchema = Type.Object(
  { error: Type.String({ description: 'Stable error code' }), message: Type.String({ description: 'Text for people' }) },
  { $id: 'Error', additionalProperties: false },
);

export const EmailSchema = Type.String({ format: 'email', minLength: 3, maxLength: 254, description: 'Email address' });
export const PasswordSchema = Type.String({ minLength: 1, maxLength: 1024, description: 'Password (8 to 128 characters when setting one)' });
/**
 * Not blank, and no control characters: PostgreSQL text cannot hold NUL (the insert would fail
 * as a 500), and no name needs a tab, a newline or an escape sequence.
 */
export const NAME_PATTERN = '^(?=.*\\S)[^\\u0000-\\u001F\\u007F]+$';
export const NameSchema = Type.String({ minLength: 1, maxLength: 200, pattern: NAME_PATTERN, description: 'Not blank; no control characters' });
/** Enrollment ids are UUIDs; anything else (a NUL, which PostgreSQL text refuses) is a 400, not a 500. */
export const EnrollmentIdSchema = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
/** A security key's answer; its exact shape is checked by the handler (unknown fields, sizes), which answers 400 (and charges a guess at login). */
export const WebAuthnResponseSchema = Type.Object({}, { additionalProperties: true, maxProperties: 8, description: 'The PublicKeyCredential JSON the browser returned (@simplewebauthn/browser)' });
export const TokenParamSchema = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

export const UserSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('user')]),
  active: Type.Boolean(),
  twoFactor: Type.Object({ enabled: Type.Boolean(), methods: Type.Array(Type.String()) }),
  lastLoginAt: Type.Union([Type.String(), Type.Null()]),
  emailVerified: Type.Boolean({ description: 'The user proved the address: the sign-up verification link, an accepted invitation or a password reset' }),
});

export const AccountSchema = Type.Object({ id: Type.String(), name: Type.String(), enforce2fa: Type.Boolean() });

/** Standard error answers for the OpenAPI document. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorSchema]));
}

/** OpenAPI security requirement: public routes declare none, the rest the session. */
export const publicSecurity: Array<Record<string, string[]>> = [];
export const sessionSecurity: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { sessionCookie: [] }];
