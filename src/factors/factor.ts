/**
 * What one kind of second factor provides to the rest of Twofold (STYLE.md convention 11; the
 * shape of Ory Kratos's strategies): the login, re-authentication and disabling verify its codes
 * through it, the login begins it (texts a code), pages describe it, and turning 2FA off removes
 * it. A kind is one folder under `factors/` implementing this and one line in `registry.ts`;
 * nothing else names the kinds.
 *
 * `verify` never charges anything: the caller (`code-check.ts`) charges the user's shared
 * budget once, before the code is looked at (SECURITY.md rules 1 and 3), whichever kind it is.
 */
import type { RequestOrigin } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import type { Database } from '../storage/schema.ts';

export type FactorDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'delivery' | 'log' | 'limits' | 'metrics'>;

/** Whose code is being checked. */
export interface CodeOwner {
  userId: string;
  accountId: string;
  email: string;
  name: string;
}

/** Where a code is entered; recorded with a wrong one. */
export type CodeStage = 'login' | 'reauthenticate' | 'disable_2fa';

export interface VerifyContext {
  stage: CodeStage;
  /** At login: the pending login's id, for codes that belong to one login only (a texted code, rule 7). */
  loginId: string | null;
  origin: RequestOrigin;
}

/** How a page or answer shows a factor the user has. */
export interface FactorDescription {
  kind: string;
  /** The name users see ("Authenticator app"). */
  label: string;
  /** The name of its icon under /assets/. */
  icon: string;
  /** A detail that identifies it without revealing it (a masked number), or null. */
  detail: string | null;
}

/** How the Verification Code page offers a kind (PRODUCT.md §2.2 step 2, §6 labels). */
export interface VerificationCopy {
  title: string;
  /** The code field's label and hint. */
  label: string;
  hint: string;
  /** The page's opening words; `detail` is the kind's description detail (a masked number). */
  intro(detail: string | null): string;
  /** For a kind the server begins: the opening words while its code could not be sent yet. */
  introUnsent?(detail: string | null): string;
  /** The link (or, for a kind the server begins, the button) that switches to it. */
  switchLabel: string;
  /** For a kind the server begins: the button that sends another code. */
  resendLabel?: string;
}

/** What became of beginning a factor at login (texting its code). */
export type BeginOutcome = { ok: true } | { ok: false; reason: string; retryAfterSeconds?: number };

/** The shapes codes come in: six ASCII digits (app, text), a recovery code xxxxx-xxxxx, or a security key's assertion. */
export type CodeShape = 'six_digits' | 'recovery_code' | 'webauthn_response';

export interface SecondFactor {
  readonly kind: string;
  /**
   * 'method': a factor the user turns on and logs in with (a row in `factors`; having one means
   * 2FA is on). 'fallback': recovery codes, which come with the methods and stand in for them.
   */
  readonly role: 'method' | 'fallback';
  /**
   * True when a code of this kind can only exist after the server sent one (a text message): for a
   * user without this factor an attempt is refused before anything is charged, since there is no
   * code to guess. Otherwise every attempt is a charged guess, enrolled or not.
   */
  readonly sentByServer: boolean;
  /** How a sentence that begins with it names it ("The authenticator app"), in notices. */
  readonly sentenceName: string;
  /** What a code looks like, for the answer that refuses a malformed one. */
  readonly codeShape: CodeShape;
  /** What the Verification Code page asks for when the code entered cannot be one. */
  readonly codePrompt: string;
  /** How the Verification Code page offers it. */
  readonly verification: VerificationCopy;
  /** The canonical code, or null when the input cannot be one (still charged as a guess, rule 33). */
  parseCode(raw: unknown): string | null;
  /** Checks and consumes a parsed code (one conditional write, rules 5 and 6). */
  verify(deps: FactorDeps, owner: CodeOwner, code: string, context: VerifyContext): Promise<boolean>;
  /** Begins a login with this factor, when it needs a step before a code exists (texting it). */
  beginLogin?(deps: FactorDeps, login: { userId: string; accountId: string; loginId: string }, origin: RequestOrigin): Promise<BeginOutcome>;
  /** How pages show the user's factor of this kind; null when the user has none. */
  describe(deps: Pick<Deps, 'db' | 'keys'>, userId: string): Promise<FactorDescription | null>;
  /** Deletes every record of this kind of the user, pending ones included (inside the caller's transaction). */
  remove(trx: Database, userId: string): Promise<void>;
}

/** Surrounding ASCII spaces and tabs may be trimmed (rule 33); nothing else is forgiven. */
export function trimSpaces(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** A six-digit code (TOTP, SMS): exactly six ASCII digits — not other scripts' digits, signs or exponents. */
export function parseSixDigitCode(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length > 64) return null;
  const code = trimSpaces(raw);
  return /^[0-9]{6}$/.test(code) ? code : null;
}
