// JSON requests to the API through an origin, and signing in as a fixture user: how every suite that runs
// the system acts on it.
import type { FixtureUser } from './fixture.js'

export type JsonRequest = (
  method: string,
  path: string,
  options?: { token?: string; body?: unknown },
) => Promise<{ status: number; body: any }>

export function apiClient(origin: string): { request: JsonRequest; login(user: Pick<FixtureUser, 'email' | 'password'>): Promise<string> } {
  const request: JsonRequest = async (method, path, options = {}) => {
    const headers: Record<string, string> = {}
    if (options.token) headers.authorization = `Bearer ${options.token}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${origin}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    })
    const text = await response.text()
    if (!text) return { status: response.status, body: null }
    try {
      return { status: response.status, body: JSON.parse(text) }
    } catch {
      // Not ours: e.g. the load balancer's own error page. The status is what the test needs to see.
      return { status: response.status, body: text.slice(0, 500) }
    }
  }
  return {
    request,
    async login(user) {
      const { status, body } = await request('POST', '/api/auth/login', { body: { email: user.email, password: user.password } })
      if (status !== 200) throw new Error(`login of ${user.email} failed with ${status}: ${JSON.stringify(body)}`)
      return body.token as string
    },
  }
}
