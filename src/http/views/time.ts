/**
 * Every time a page shows (issue 17): a <time> element whose datetime is the UTC instant and
 * whose text is the same instant as unambiguous UTC, so the page is right without JavaScript.
 * public/local-time.js (loaded on every page, from our own origin) rewrites the text of each
 * `time[data-local]` into the reader's own time zone and keeps the UTC text as its title.
 */
import { html, type SafeHTML } from './html.ts';

export const LOCAL_TIME_SCRIPT = '/assets/local-time.js';

/**
 * 'minute' for tables and details; 'second' where seconds matter (a log line); 'clock' for a
 * time of day within the next minutes (a QR code's expiry), without the date.
 */
export type TimePrecision = 'minute' | 'second' | 'clock';

/** The UTC text shown without JavaScript: "2026-12-06 05:22 UTC" ("05:22:39 UTC" for 'clock'). */
export function utcText(at: number | string, precision: TimePrecision = 'minute'): string {
  const iso = new Date(typeof at === 'string' ? at : Number(at)).toISOString();
  if (precision === 'clock') return `${iso.slice(11, 19)} UTC`;
  return `${iso.slice(0, precision === 'second' ? 19 : 16).replace('T', ' ')} UTC`;
}

/**
 * A stored time (milliseconds or an ISO string) as a <time> element; null reads "Never".
 * Extra attributes (the enrollment script's data-expires hook) are passed as a fragment.
 */
export function timeElement(at: number | string | null, precision: TimePrecision = 'minute', attributes: SafeHTML | '' = ''): SafeHTML {
  if (at === null) return html`Never`;
  const iso = new Date(typeof at === 'string' ? at : Number(at)).toISOString();
  return html`<time datetime="${iso}" data-local="${precision}"${attributes}>${utcText(at, precision)}</time>`;
}
