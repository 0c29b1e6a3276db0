// A V8 CPU profile of one window of a process's life (`node --cpu-prof` covers all of it), taken in the
// process through the inspector protocol and written as a `.cpuprofile`, for the probe to start and stop
// on request: e.g. only the idle window of a server that also connected clients and took load.
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector'

let session: Session | undefined

function post<T = unknown>(method: string): Promise<T> {
  return new Promise((resolve, reject) => session!.post(method, (error, result) => (error ? reject(error) : resolve(result as T))))
}

export async function startWindowProfile(): Promise<void> {
  if (session) throw new Error('a window profile is already running')
  session = new Session()
  session.connect()
  await post('Profiler.enable')
  await post('Profiler.start')
}

/** Stops the running window profile and writes it to `file`. */
export async function stopWindowProfile(file: string): Promise<void> {
  if (!session) throw new Error('no window profile is running')
  try {
    const { profile } = await post<{ profile: unknown }>('Profiler.stop')
    await writeFile(file, JSON.stringify(profile))
  } finally {
    session.disconnect()
    session = undefined
  }
}
