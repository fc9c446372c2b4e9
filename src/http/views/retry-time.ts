/**
 * "When can I try again?" for a pause that lifts by itself (issue 17): the password lock at
 * /login and the second-factor lock (10 wrong codes in 15 minutes). The time is a <time>
 * element, so it reads in the reader's own zone with JavaScript and in UTC without.
 */
import { html, type SafeHTML } from './html.ts';
import { timeElement } from './time.ts';

function minutesText(retryAfterSeconds: number): string {
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** "Try again after 05:40:00 UTC (in 15 minutes)." `nowMs`: the server clock. */
export function tryAgainAt(nowMs: number, retryAfterSeconds: number): SafeHTML {
  return html`Try again after ${timeElement(nowMs + retryAfterSeconds * 1000, 'clock')} (in ${minutesText(retryAfterSeconds)}).`;
}

/** The words for the second-factor lock, shown after the locking code and before any code is typed. */
export function secondFactorPausedMessage(nowMs: number, retryAfterSeconds: number): SafeHTML {
  return html`Too many wrong codes. For your security, codes are not accepted for ${minutesText(retryAfterSeconds)}. ${tryAgainAt(nowMs, retryAfterSeconds)}`;
}

/** After a wrong code: how many of this login's tries are left (never more than the user's budget allows). */
export function attemptsLeftText(attemptsLeft: number): string {
  return attemptsLeft === 1 ? '1 try left before this login ends.' : `${attemptsLeft} tries left before this login ends.`;
}
