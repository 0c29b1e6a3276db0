// The browser origins a deployment trusts, read the same way by the API (CORS) and the realtime service
// (handshake Origin check): the configured comma-separated list, or else the public URL's own origin.

export function allowedOrigins(listed: string, publicUrl: string): string[] {
  const origins = listed.split(',').map((origin) => origin.trim()).filter(Boolean)
  return origins.length > 0 ? origins : [new URL(publicUrl).origin]
}
