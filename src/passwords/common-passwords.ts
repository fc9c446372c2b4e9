/**
 * The list of commonly used and breached passwords that NIST SP 800-63B asks to refuse: the one
 * @zxcvbn-ts/language-common ships (about 49,000 passwords ranked from breach corpora, lower-case),
 * installed from the registry with the package — nothing is downloaded at run time.
 *
 * Built once, at the first check, into a Set of the entries of 8 characters or more (shorter ones
 * are refused for their length anyway): about 18,000 strings. Compared lower-cased, so "Password"
 * and "PASSWORD" are refused with "password".
 */
import { dictionary } from '@zxcvbn-ts/language-common';

/** The shortest password the policy accepts (config.ts passwordMinLength); shorter entries are not kept. */
const SHORTEST_KEPT = 8;

let common: Set<string> | null = null;

function commonPasswords(): Set<string> {
  common ??= new Set(dictionary['passwords-common'].filter((entry) => entry.length >= SHORTEST_KEPT).map((entry) => entry.toLowerCase()));
  return common;
}

export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.toLowerCase());
}
