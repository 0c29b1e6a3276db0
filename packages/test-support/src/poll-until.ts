// Waiting for a state no event announces (a row written by another process, a key expiring in Redis):
// read it until it is what the test expects, or fail saying what it last was.

/** Polls until `read` returns something `done` accepts; fails after `ms` with the last value read. */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, description: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`${description}: not within ${ms} ms; last ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
