// Each domain registers its GraphQL types on import. A new domain adds one line.
export {};
