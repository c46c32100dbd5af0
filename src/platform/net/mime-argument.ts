// MIME patterns a client hands us ("image/*", "video/mp4"): refused with the
// field named when malformed, normalised to lower case when fine.
import { ValidationError } from '../errors.js';
import { isValidMimePattern } from './sniff.js';

export function validateMimePatterns(patterns: readonly string[] | null | undefined, field: string): string[] | null {
  if (!patterns?.length) return null;
  return patterns.map((p) => {
    if (!isValidMimePattern(p)) throw new ValidationError(field, `"${p}" is not a MIME type or pattern like image/*`);
    return p.trim().toLowerCase();
  });
}
