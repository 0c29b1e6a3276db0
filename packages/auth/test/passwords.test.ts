import t from 'tap'
import { hashPassword, verifyPassword, verifyPasswordOrDummy } from '../src/index.js'

t.test('hashes with Argon2id and verifies only the right password', async (t) => {
  const hash = await hashPassword('correct horse')
  t.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  t.equal(await verifyPassword(hash, 'correct horse'), true)
  t.equal(await verifyPassword(hash, 'wrong horse'), false)
  t.not(await hashPassword('correct horse'), hash, 'salted')
})

t.test('a missing or corrupt hash never verifies', async (t) => {
  t.equal(await verifyPassword('not-a-hash', 'x'), false)
  t.equal(await verifyPasswordOrDummy(null, 'anything'), false)
  t.equal(await verifyPasswordOrDummy(await hashPassword('pw'), 'pw'), true)
})
