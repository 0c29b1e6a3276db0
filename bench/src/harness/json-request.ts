// A small keep-alive HTTP client for the publishers and the ingest load: one request, its status and
// how long it took, with as little client-side work as possible.
import { Agent, request } from 'node:http'

export interface JsonResponse {
  status: number
  body: string
  ms: number
}

export function keepAliveAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets })
}

export function requestJson(
  agent: Agent,
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (text += chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text, ms: performance.now() - started }))
        response.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}
