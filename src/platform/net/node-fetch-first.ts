// Node 20's built-in fetch and the undici package share one global-dispatcher
// slot, and whichever loads first claims it. If the package (a newer major)
// claims it, Node's own fetch hands requests to an Agent it does not match
// and refuses any explicit Content-Length ("invalid content-length header").
// Loading Node's fetch first (a data: URL touches no network) keeps each on
// its own Agent. Import this before 'undici'.
fetch('data:,').catch(() => {});
