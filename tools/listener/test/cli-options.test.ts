// Reading the command line: what it accepts and how it says what is wrong.
import t from 'tap'
import { readOptions, UsageError } from '../src/cli-options.js'

t.test('reads a password sign-in with the defaults', async (t) => {
  t.same(readOptions(['--school', '1', '--email', 'a@b.c', '--password', 'pw'], {}), {
    origin: 'http://localhost:8000',
    schoolId: 1,
    transport: 'websocket',
    json: false,
    email: 'a@b.c',
    password: 'pw',
  })
})

t.test('reads a token, a transport, an origin and a starting seq', async (t) => {
  t.same(
    readOptions(['--school', '7', '--token', 'tok', '--transport', 'socket.io', '--origin', 'http://h:1/', '--since', '0', '--json'], {}),
    { origin: 'http://h:1', schoolId: 7, transport: 'socket.io', json: true, token: 'tok', since: 0 },
  )
  t.equal((readOptions(['--school', '1', '--token', 't'], { DASHBOARD_ORIGIN: 'http://env:2' }) as { origin: string }).origin, 'http://env:2')
  t.equal(readOptions(['--help'], {}), 'help')
})

t.test('refuses what it cannot use, naming it', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--token', 't'], /--school is required/],
    [['--school', '0', '--token', 't'], /--school must be an integer from 1, not "0"/],
    [['--school', '1'], /give --token, or --email and --password/],
    [['--school', '1', '--email', 'a'], /give --token, or --email and --password/],
    [['--school', '1', '--token', 't', '--email', 'a', '--password', 'p'], /not both/],
    [['--school', '1', '--token', 't', '--transport', 'sse'], /--transport must be websocket or socket.io, not "sse"/],
    [['--school', '1', '--token', 't', '--since=-1'], /--since must be an integer from 0, not "-1"/],
    [['--school', '1', '--token', 't', '--origin', 'localhost'], /--origin must be like http:\/\/host:port/],
    [['--school', '1', '--token', 't', '--colour'], /Unknown option '--colour'/],
  ]
  for (const [argv, message] of cases) {
    const error = (() => {
      try {
        readOptions(argv, {})
      } catch (caught) {
        return caught
      }
    })()
    t.ok(error instanceof UsageError, `${argv.join(' ')} is a usage error`)
    t.match((error as Error).message, message, argv.join(' '))
  }
})
