// Test fixtures shared by every workspace's tests: isolated databases and Redis key spaces, and a
// known set of schools and users to act as.
export { createTestDatabase, type TestDatabase } from '@school/db/testing'
export { uniqueRedisPrefix, deleteRedisKeys, TEST_REDIS_URL } from './redis.js'
export { createFixture, FIXTURE_METRICS, type Fixture, type FixtureUser } from './fixture.js'
export { startTcpProxy, throughProxy, type TcpProxy } from './tcp-proxy.js'
export { apiClient, type JsonRequest } from './api-client.js'
export { freePort } from './free-port.js'
export { reapOnExit } from './child-reaper.js'
export { pollUntil } from './poll-until.js'
export { seedManySchools, type ManySchoolsOptions, type SeededAdmin, type SeededSchool } from './many-schools.js'
