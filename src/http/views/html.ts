/**
 * Auto-escaping HTML templates as tagged template literals: every interpolated value is escaped
 * unless it is itself a fragment built by `html`. Type-checked with the code that fills it,
 * and there is no way to splice a raw string into a page by accident.
 */
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export class SafeHTML {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

type Fragment = SafeHTML | string | number | boolean | null | undefined | Fragment[];

function render(value: Fragment): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHTML) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHTML(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Fragment[]): SafeHTML {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHTML(out);
}
