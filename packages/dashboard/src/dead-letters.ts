// Events the projection can never apply (an unknown type, a malformed payload): skipped, so the events after
// them still count, and recorded in dead_letter_events once each, whichever write stores the fold.
import { Prisma } from '@school/db'

export interface DeadLetter {
  eventId: string
  seq: number
  error: string
}

/** The longest error text kept. */
const MAX_ERROR_LENGTH = 2000

export function deadLetterOf(event: { id: string; seq: number }, error: unknown): DeadLetter {
  return { eventId: event.id, seq: event.seq, error: error instanceof Error ? error.message : String(error) }
}

/**
 * The statement recording `letters` (those already recorded are left as they are); `writtenSchools`, a query
 * of `school_id`s, keeps only the letters of those schools (the ones whose fold a conditional write stored).
 * A statement of its own, or a data-modifying member of a WITH.
 */
export function insertDeadLetters(letters: ReadonlyArray<DeadLetter & { schoolId: number }>, writtenSchools?: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO dead_letter_events (event_id, school_id, seq, error)
    SELECT d.event_id, d.school_id, d.seq, d.error
    FROM unnest(${letters.map((d) => d.eventId)}::uuid[], ${letters.map((d) => d.schoolId)}::int[], ${letters.map((d) => d.seq)}::int[],
                ${letters.map((d) => d.error.slice(0, MAX_ERROR_LENGTH))}::text[]) AS d(event_id, school_id, seq, error)
    ${writtenSchools ? Prisma.sql`WHERE d.school_id IN (${writtenSchools})` : Prisma.empty}
    ON CONFLICT (event_id) DO NOTHING`
}
