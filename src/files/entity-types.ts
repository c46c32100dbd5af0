// What a file can be attached to. Each entity type names the parts of its id
// and checks each one, so a bad id is refused naming the part that is wrong.
// Adding a type is one entry in ENTITY_TYPES.
import { ValidationError } from '../platform/errors.js';

interface IdPart {
  name: string;
  /** Why-not message when the part is wrong; undefined when it is fine. */
  check(value: string): string | undefined;
}

export interface EntityTypeDefinition {
  /** The lower-case name the object storage reference uses. */
  referenceName: string;
  description: string;
  separator: string;
  parts: IdPart[];
  example: string;
}

const pattern = (name: string, re: RegExp, rule: string): IdPart => ({
  name,
  check: (value) => (re.test(value) ? undefined : `${name} ${JSON.stringify(value)} ${rule}`),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reasons a shipment item can be reported for; extend as operations add them. */
export const SHIPMENT_REASON_CODES = ['DAMAGED', 'SHORTAGE', 'OVERAGE', 'WRONG_ITEM', 'EXPIRED', 'MISSING_LABEL', 'OTHER'] as const;

export const ENTITY_TYPES = {
  SHIPMENT_ITEM: {
    referenceName: 'shipment_item',
    description: 'A discrepancy on one SKU of a shipment',
    separator: '|',
    parts: [
      pattern('shipment_id', /^[A-Z0-9][A-Z0-9-]{2,63}$/, 'must be 3-64 upper-case letters, digits or dashes'),
      pattern('sku', /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, dots, underscores or dashes'),
      {
        name: 'reason_code',
        check: (v) => ((SHIPMENT_REASON_CODES as readonly string[]).includes(v) ? undefined : `reason_code ${JSON.stringify(v)} must be one of ${SHIPMENT_REASON_CODES.join(', ')}`),
      },
      pattern('discrepancy_id', UUID, 'must be a UUID'),
    ],
    example: '1RT823V93|SKU-001|DAMAGED|51076f94-b531-483c-884b-35ad67afa113',
  },
} satisfies Record<string, EntityTypeDefinition>;

export type EntityType = keyof typeof ENTITY_TYPES;
export const ENTITY_TYPE_NAMES = Object.keys(ENTITY_TYPES) as EntityType[];

export function entityIdFormat(type: EntityType): string {
  const def: EntityTypeDefinition = ENTITY_TYPES[type];
  return def.parts.map((p) => p.name).join(def.separator);
}

/** Throws a ValidationError on `field` naming the first wrong part; returns the id unchanged. */
export function validateEntityId(type: EntityType, entityId: string, field = 'entityId'): string {
  const def: EntityTypeDefinition | undefined = ENTITY_TYPES[type];
  if (!def) throw new ValidationError('entityType', `unknown entity type ${JSON.stringify(type)}`);
  if (entityId.length > 512) throw new ValidationError(field, 'longer than 512 characters');
  const values = entityId.split(def.separator);
  if (values.length !== def.parts.length) {
    throw new ValidationError(field, `${type} ids have ${def.parts.length} parts (${entityIdFormat(type)}), got ${values.length}`);
  }
  def.parts.forEach((part, i) => {
    const problem = part.check(values[i]!);
    if (problem) throw new ValidationError(field, problem);
  });
  return entityId;
}
