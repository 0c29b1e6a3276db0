// Password hashing with Argon2id (a slow, memory-hard KDF), stored as PHC strings.
import { hash, verify } from '@node-rs/argon2'

// OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
const PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 }

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS)
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}

let dummyHash: Promise<string> | undefined

/**
 * Verifies against the stored hash, or against a dummy one when there is none, so that an unknown
 * email costs the same time as a wrong password and the response does not reveal which it was.
 */
export async function verifyPasswordOrDummy(passwordHash: string | null | undefined, password: string): Promise<boolean> {
  if (passwordHash) return verifyPassword(passwordHash, password)
  dummyHash ??= hashPassword('not-a-real-password')
  await verifyPassword(await dummyHash, password)
  return false
}
