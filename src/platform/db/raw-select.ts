// Hot read paths (lists on every page load) skip drizzle's query builder and
// row mapper, which cost more than the query itself for 50 rows × 20 columns,
// and run one postgres.js statement (prepared by its text) instead. The select
// list and the decoding still come from the drizzle table, so a column added
// there is read here too.
import { getTableColumns, type InferSelectModel, type Table } from 'drizzle-orm';

// Column types whose postgres.js value is already the model's value.
const AS_IS = new Set(['PgText', 'PgVarchar', 'PgUUID', 'PgBoolean', 'PgInteger', 'PgSmallInt', 'PgDoublePrecision', 'PgReal']);

export interface RawSelect<Row> {
  /** `"col_a", "col_b", …` (qualified by the alias when given), for `sql.unsafe`. */
  columns: string;
  /** A row as postgres.js returns it (database column names) → the drizzle model. */
  map(raw: Record<string, unknown>): Row;
}

export function rawSelect<T extends Table>(table: T, alias?: string): RawSelect<InferSelectModel<T>> {
  const columns = Object.entries(getTableColumns(table)).map(([property, column]) => ({
    property,
    name: column.name,
    decode: AS_IS.has(column.columnType) ? undefined : (value: unknown) => column.mapFromDriverValue(value),
  }));
  const prefix = alias ? `${alias}.` : '';
  return {
    columns: columns.map((c) => `${prefix}"${c.name}"`).join(', '),
    map(raw) {
      const row: Record<string, unknown> = {};
      for (const c of columns) {
        const value = raw[c.name];
        row[c.property] = value == null ? null : c.decode ? c.decode(value) : value;
      }
      return row as InferSelectModel<T>;
    },
  };
}
