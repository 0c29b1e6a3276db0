// Creating users by email, where two requests may race to create the same address.
import { isUniqueViolation } from './prisma-errors.js'
import type { Tx } from './school-log.js'

/** Emails are stored and compared trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}

/** Another transaction created a user with this email after we looked: run the change again. */
export class EmailTakenMeanwhile extends Error {
  constructor() {
    super('a user with this email was created concurrently')
    this.name = 'EmailTakenMeanwhile'
  }
}

export async function createUser(
  tx: Tx,
  data: { email: string | null; name: string; passwordHash: string | null },
): Promise<{ id: number; name: string; email: string | null }> {
  try {
    return await tx.user.create({ data, select: { id: true, name: true, email: true } })
  } catch (error) {
    if (isUniqueViolation(error)) throw new EmailTakenMeanwhile()
    throw error
  }
}

/** Runs a change once more if it lost a race to create a user; the second run sees that user. */
export async function retryIfEmailTaken<R>(run: () => Promise<R>): Promise<R> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof EmailTakenMeanwhile) return run()
    throw error
  }
}
