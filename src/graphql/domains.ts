// Each domain registers its GraphQL types on import. A new domain adds one line.
import '../events/graphql.js';
import '../webhooks/graphql.js';
import '../files/graphql.js';
import '../media-items/graphql.js';
import '../fetch-jobs/graphql.js';
