import type { ServerResponse } from 'node:http';
import { AppError, type ErrorCode, HTTP_STATUS } from '../errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

/** The one JSON error shape of every REST route: { error: { code, message } }. */
export function sendError(res: ServerResponse, code: ErrorCode | string, message: string, status?: number, headers?: Record<string, string>): void {
  sendJson(res, status ?? HTTP_STATUS[code as ErrorCode] ?? 500, { error: { code, message } }, headers);
}

export function sendAppError(res: ServerResponse, error: AppError): void {
  sendJson(res, error.httpStatus, { error: error.toJSON() });
}
