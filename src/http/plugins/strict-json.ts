/**
 * JSON bodies with a repeated key are refused (SECURITY.md rule 34). JSON.parse keeps the last
 * of two equal keys while other parsers (a proxy, a WAF, a log pipeline) may keep the first, so
 * `{"code":"000000","code":"123456"}` would mean different things to different readers. The
 * body is parsed by Fastify's own parser first (with its __proto__ and constructor checks),
 * then scanned once for repeated keys.
 */
import type { FastifyInstance } from 'fastify';

/** The first key that appears twice in one object of `text` (valid JSON), or null. */
export function findDuplicateKey(text: string): string | null {
  // One frame per open container: the keys seen so far for an object, null for an array.
  const frames: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (char === '{') {
      frames.push(new Set());
      expectKey = true;
    } else if (char === '[') {
      frames.push(null);
      expectKey = false;
    } else if (char === '}' || char === ']') {
      frames.pop();
      expectKey = false;
    } else if (char === ',') {
      expectKey = frames.at(-1) instanceof Set;
    } else if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = frames.at(-1);
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = end;
    }
  }
  return null;
}

class DuplicateKeyError extends Error {
  readonly statusCode = 400;
}

export function useStrictJSONParser(app: FastifyInstance): void {
  const parseJSON = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    parseJSON(request, text, (error, parsed) => {
      if (error) return done(error, undefined);
      const repeated = findDuplicateKey(text);
      if (repeated !== null) return done(new DuplicateKeyError(`the body repeats the key "${repeated.slice(0, 64)}"`), undefined);
      done(null, parsed);
    });
  });
}
