/**
 * The list of commonly used and breached passwords that NIST SP 800-63B asks to refuse: the one
 * @zxcvbn-ts/language-common ships (about 49,000 passwords ranked from breach corpora, lower-case),
 * installed from the registry with the package — nothing is downloaded at run time.
 *
 * Built once, at the first check, into a Set of the entries of 8 characters or more (shorter ones
 * are refused for their length anyway): about 18,000 strings. Compared lower-cased, so "Password"
 * and "PASSWORD" are refused with "password".
 */
import { createRequire } from 'node:module';

/**
 * Only the passwords list, read at the first check, not at start: the package's index also
 * decompresses its diceware list and keyboard graphs (~2.3 MB of strings and arrays in all), and
 * most processes (a server between sign-ups, the `twofold` subcommands) never check a password.
 * Loaded with require() from node_modules, synchronously (the policy check stays synchronous),
 * and left out of the compiled bundle: esbuild does not follow a require made by createRequire.
 */
const requireFromPackages = createRequire(import.meta.url);
const loadPasswordsList = (): string[] => requireFromPackages('@zxcvbn-ts/language-common/dist/passwords.json.cjs') as string[];

/** The shortest password the policy accepts (config.ts passwordMinLength); shorter entries are not kept. */
const SHORTEST_KEPT = 8;

let common: Set<string> | null = null;

function commonPasswords(): Set<string> {
  common ??= new Set(loadPasswordsList().filter((entry) => entry.length >= SHORTEST_KEPT).map((entry) => entry.toLowerCase()));
  return common;
}

export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.toLowerCase());
}
