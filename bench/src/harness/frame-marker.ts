// Finds a message's number in a raw frame without parsing the JSON: the digits right after a marker
// (e.g. the invitation's index in `bench-<run>-<index>@`), so that thousands of clients stay cheap to read.

/** The decimal number right after `marker` in `frame`, or -1 if the marker or the digits are not there. */
export function numberAfterMarker(frame: Buffer, marker: Buffer): number {
  const at = frame.indexOf(marker)
  if (at === -1) return -1
  let value = 0
  let digits = 0
  for (let i = at + marker.length; i < frame.length; i++, digits++) {
    const code = frame[i]!
    if (code < 48 || code > 57) break
    value = value * 10 + (code - 48)
  }
  return digits === 0 ? -1 : value
}
