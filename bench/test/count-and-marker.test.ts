import t from 'tap'
import { CountThreshold } from '../src/harness/count-threshold.js'
import { numberAfterMarker } from '../src/harness/frame-marker.js'

t.test('numberAfterMarker reads the digits right after the marker, or says -1', async (t) => {
  const marker = Buffer.from('bench-7-')
  t.equal(numberAfterMarker(Buffer.from('{"email":"bench-7-1234@x.test"}'), marker), 1234)
  t.equal(numberAfterMarker(Buffer.from('{"email":"bench-7-0@x.test"}'), marker), 0)
  t.equal(numberAfterMarker(Buffer.from('{"email":"bench-7-@x.test"}'), marker), -1, 'no digits')
  t.equal(numberAfterMarker(Buffer.from('{"email":"bench-8-12@x.test"}'), marker), -1, 'another marker')
  t.equal(numberAfterMarker(Buffer.from('bench-7-42'), marker), 42, 'digits up to the end of the frame')
})

t.test('CountThreshold wakes its waiter when the count reaches the target, or answers false at the timeout', async (t) => {
  const threshold = new CountThreshold()
  const reached = threshold.reached(2, 5_000)
  threshold.add()
  threshold.add()
  t.equal(await reached, true)
  t.equal(threshold.count, 2)
  t.equal(await threshold.reached(2, 5_000), true, 'already there')
  t.equal(await threshold.reached(3, 20), false, 'not reached in time')
})
