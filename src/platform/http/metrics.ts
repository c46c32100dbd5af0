import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  graphqlOperations: Counter<'type' | 'name' | 'result'>;
  graphqlDuration: Histogram<'type' | 'name'>;
  /** Promise rejections nobody handled: each is a bug, logged and counted instead of ending the process. */
  unhandledRejections: Counter;
}

// A registry per app instance, so several gateways in one test process do not collide.
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'media_gateway_' });
  return {
    registry,
    httpRequests: new Counter({ name: 'media_gateway_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    httpDuration: new Histogram({ name: 'media_gateway_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'], registers: [registry] }),
    graphqlOperations: new Counter({ name: 'media_gateway_graphql_operations_total', help: 'GraphQL operations by type, name and result', labelNames: ['type', 'name', 'result'], registers: [registry] }),
    graphqlDuration: new Histogram({ name: 'media_gateway_graphql_operation_duration_seconds', help: 'GraphQL operation execution time', labelNames: ['type', 'name'], registers: [registry] }),
    unhandledRejections: new Counter({ name: 'media_gateway_unhandled_rejections_total', help: 'Promise rejections no code handled (bugs; logged, the process keeps running)', registers: [registry] }),
  };
}
