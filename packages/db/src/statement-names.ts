// Prepared statements for Prisma's queries. The pg driver adapter sends each query as an unnamed statement,
// which PostgreSQL parses, analyses and plans again on every execution (the API's invitation statement has
// five CTEs; naming the statements raised the API's invitation throughput by about 40%, docs/BENCHMARKS.md).
// Given a name, pg prepares a statement once per connection and then only binds and executes it, and
// PostgreSQL may settle on a generic plan after five executions (`plan_cache_mode`). The adapter's
// `statementNameGenerator` option is the hook for it.
//
// A prepared statement lives as long as its connection, on both sides, and neither pg nor the adapter can
// drop one: so only the first `limit` distinct query texts of the process get names (each the same on every
// connection), and any later text runs unnamed as before. The services' queries are a fixed set, well
// under the default; texts that vary with their input (an `IN` list's length) are what the limit is for.

/** The names given to query texts, `s1`, `s2`, ... in order of first use; '' (unnamed) once `limit` are taken. */
export function createStatementNamer(limit: number): (query: { sql: string }) => string {
  const names = new Map<string, string>()
  return ({ sql }) => {
    const known = names.get(sql)
    if (known !== undefined) return known
    if (names.size >= limit) return ''
    const name = `s${names.size + 1}`
    names.set(sql, name)
    return name
  }
}
