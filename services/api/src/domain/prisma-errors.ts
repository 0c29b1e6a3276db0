// Recognizes the database errors the domain reacts to instead of answering 500.

/** True for Prisma's unique-constraint violation (P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002'
}

/** The index a raw statement ($queryRaw) violated, if it failed on a unique index (P2010 from the driver adapter). */
export function rawUniqueViolationOn(error: unknown): string | null {
  const { code, meta } = (error ?? {}) as {
    code?: unknown
    meta?: { driverAdapterError?: { cause?: { kind?: unknown; constraint?: { index?: unknown } } } }
  }
  const cause = meta?.driverAdapterError?.cause
  if (code !== 'P2010' || cause?.kind !== 'UniqueConstraintViolation') return null
  return typeof cause.constraint?.index === 'string' ? cause.constraint.index : null
}
