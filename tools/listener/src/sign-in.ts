// Signs in through the API (POST /api/auth/login) for the access token the realtime service accepts and a
// refresh token (asked for in the body: the listener is not a browser), and renews the access token with
// it (POST /api/auth/refresh, which rotates the refresh token: only the newest one works).
export class SignInError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

/** An access token and the refresh token that renews it. */
export interface Session {
  token: string
  refreshToken: string
}

async function post(origin: string, path: string, payload: unknown, what: string): Promise<Session> {
  let response: Response
  try {
    response = await fetch(`${origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    })
  } catch (error) {
    throw new SignInError(`cannot reach ${origin}: ${(error as Error).cause ?? (error as Error).message}`, 0)
  }
  const body = (await response.json().catch(() => ({}))) as { token?: string; refreshToken?: string; message?: string; code?: string }
  if (response.status !== 200 || typeof body.token !== 'string' || typeof body.refreshToken !== 'string') {
    throw new SignInError(`${what} failed with ${response.status}: ${body.message ?? body.code ?? 'no reason given'}`, response.status)
  }
  return { token: body.token, refreshToken: body.refreshToken }
}

export function signIn(origin: string, email: string, password: string): Promise<Session> {
  return post(origin, '/api/auth/login', { email, password, refreshTokenInBody: true }, 'sign-in')
}

export function refreshSession(origin: string, refreshToken: string): Promise<Session> {
  return post(origin, '/api/auth/refresh', { refreshToken }, 'refresh')
}
