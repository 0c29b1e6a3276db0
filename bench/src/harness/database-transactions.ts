// Transactions of one database, as PostgreSQL counts them (pg_stat_database xact_commit + xact_rollback):
// every statement outside an explicit transaction is one. Read on a connection to the `postgres` database,
// so the reading itself is not counted in the database it watches.
import pg from 'pg'

export interface TransactionCounter {
  /** Transactions of the database so far, as far as its backends have reported them. */
  read(): Promise<number>
  close(): Promise<void>
}

export async function openTransactionCounter(databaseUrl: string): Promise<TransactionCounter> {
  const url = new URL(databaseUrl)
  const database = decodeURIComponent(url.pathname.slice(1))
  url.pathname = '/postgres'
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  return {
    async read() {
      const { rows } = await client.query<{ transactions: string }>(
        'SELECT (xact_commit + xact_rollback)::text AS transactions FROM pg_stat_database WHERE datname = $1',
        [database],
      )
      if (!rows[0]) throw new Error(`pg_stat_database has no row for ${database}`)
      return Number(rows[0].transactions)
    },
    close: () => client.end(),
  }
}
