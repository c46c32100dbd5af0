// `npm run schema:print` rewrites schema.graphql from the code.
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../platform/db/migrate.js';
import { printSchemaSDL } from './schema.js';

fs.writeFileSync(path.join(projectRoot(), 'schema.graphql'), printSchemaSDL());
console.log('schema.graphql written');
