// TLS settings for the webhook's HTTPS server: TLS 1.2 at least, as the API server expects.
export interface HttpsServerOptions {
  readonly cert: string;
  readonly key: string;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
}

export function httpsOptions(cert: string, key: string): HttpsServerOptions {
  return { cert, key, minVersion: 'TLSv1.2' };
}
