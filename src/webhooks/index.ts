// What other domains (and receivers' code) use from webhooks.
export { WebhookService, validateWebhookUrl, type EnqueueInput, type DeliveryPage } from './service.js';
export { verifyWebhook, WebhookVerificationError, generateSecret, sign } from './signing.js';
export { retryDelayMs } from './backoff.js';
