// What GraphiQL shows on first open. Domains extend it as they land.
export const GRAPHIQL_DEFAULT_QUERY = `# Welcome to media-gateway.
# Every request needs your API key: open "Headers" below and set
#   { "X-API-KEY": "<your key>" }
# (printed once at first start; create more with: media-gateway keys create --account default)

query Viewer {
  viewer {
    id
    name
  }
}

# Your media library: newest first, last week (upload with curl, see the README).
query MediaLibrary {
  mediaItems(pageSize: 10, mimeType: "image/*") {
    totalCount
    nodes { id originalFileName mimeType mediaSize timesDownloaded thumbnailUrl downloadUrl }
  }
}
`;
