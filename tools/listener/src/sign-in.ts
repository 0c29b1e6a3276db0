// Signs in through the API (POST /api/auth/login) for the access token the realtime service accepts.
export class SignInError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

export async function signIn(origin: string, email: string, password: string): Promise<string> {
  let response: Response
  try {
    response = await fetch(`${origin}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    })
  } catch (error) {
    throw new SignInError(`cannot reach ${origin}: ${(error as Error).cause ?? (error as Error).message}`, 0)
  }
  const body = (await response.json().catch(() => ({}))) as { token?: string; message?: string; code?: string }
  if (response.status !== 200 || typeof body.token !== 'string') {
    throw new SignInError(`sign-in failed with ${response.status}: ${body.message ?? body.code ?? 'no reason given'}`, response.status)
  }
  return body.token
}
