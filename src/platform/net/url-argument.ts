// The one check of a URL a client hands us (to fetch, to call back): a
// readable VALIDATION error naming the field for obvious junk. Whether the
// URL may actually be reached is the egress policy's call, at request time.
import { ValidationError } from '../errors.js';

export function validateUrlArgument(url: string, field: string, options: { maxLength?: number } = {}): URL {
  const maxLength = options.maxLength ?? 4096;
  if (url.length > maxLength) throw new ValidationError(field, `at most ${maxLength} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(field, 'must be an absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ValidationError(field, 'must be http or https');
  if (parsed.username || parsed.password) throw new ValidationError(field, 'must not contain credentials');
  return parsed;
}
