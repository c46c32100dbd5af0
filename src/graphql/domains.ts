// Each domain registers its GraphQL types on import. A new domain adds one line.
import '../events/graphql.js';
