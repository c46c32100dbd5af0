// Input rules shared by GraphQL and the download route; each failure names its field.
import { ValidationError } from '../platform/errors.js';
import { isValidMimePattern } from '../platform/net/sniff.js';

const TEXT_LIMITS = { title: 500, description: 5000, metadataPrimary: 5000, metadataSecondary: 5000 } as const;
export type TextField = keyof typeof TEXT_LIMITS;
export const TEXT_FIELDS = Object.keys(TEXT_LIMITS) as TextField[];

export function checkText(field: TextField, value: string | null | undefined): void {
  if (value != null && value.length > TEXT_LIMITS[field]) throw new ValidationError(field, `at most ${TEXT_LIMITS[field]} characters`);
}

export function checkMaxDownloads(value: number | null | undefined): void {
  if (value != null && (!Number.isSafeInteger(value) || value < 0)) throw new ValidationError('maxDownloadsAllowed', 'must be 0 or more (null for unlimited)');
}

/** A concrete type for a stored item: no wildcards. */
export function checkMimeType(value: string): void {
  if (!isValidMimePattern(value) || value.includes('*')) throw new ValidationError('mimeType', `"${value}" is not a MIME type like audio/wav`);
}

export function checkMimePattern(value: string): void {
  if (!isValidMimePattern(value)) throw new ValidationError('mimeType', `"${value}" is not a MIME type or pattern like image/*`);
}

