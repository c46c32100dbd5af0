import { describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createTestDatabase } from '../../support/db.js';

describe('test database harness', () => {
  it('clones a migrated database', async () => {
    const database = await createTestDatabase();
    const sql = postgres(database.url, { max: 1 });
    const rows = await sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`;
    // Domains add their own tables; the platform's must be there.
    expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['accounts', 'api_keys', 'files']));
    await sql.end();
    await database.drop();
  });
});
