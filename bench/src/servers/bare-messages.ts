// What the bare servers send, as the realtime service sends it: the welcome of a dashboard connection, and
// the two messages of a student registration (activity_new, then the school's metrics_update), published by
// a POST /publish.
import { randomUUID } from 'node:crypto'
import type { RequestListener } from 'node:http'
import { envelope, metricsWith, type SchoolMetrics } from '@school/events'

export function welcome(schoolId: number | undefined, transport: 'websocket' | 'socket.io') {
  return envelope('connection_established', {
    schoolId: schoolId ?? 1,
    transport,
    user: { id: 1, email: null, name: 'Olivia Owner', role: 'school_owner' },
  })
}

/** The registrations one server has published: each raises the sequence and the student count. */
export class StudentRegistrations {
  private seq = 0
  private readonly metrics: SchoolMetrics = metricsWith({ teachers: 1, admins: 2 })

  /** The messages of the next registration; `name` (default `Student <seq>`) ends the activity's summary. */
  next(name: string | undefined) {
    const seq = ++this.seq
    this.metrics.students++
    const eventId = randomUUID()
    const student = name ?? `Student ${seq}`
    const activity = envelope(
      'activity_new',
      { id: eventId, seq, type: 'student.registered', actor: { id: 1, name: 'Olivia Owner' }, summary: `Olivia Owner registered student ${student}`, occurredAt: new Date().toISOString() },
      { eventId, seq },
    )
    return { activity, metrics: envelope('metrics_update', { ...this.metrics }, { eventId, seq }) }
  }
}

/** What a POST /publish asks for, from its optional JSON body. */
export interface Publish {
  /** The student's name, at the end of the activity's summary. */
  name?: string
  /** The school whose room receives the messages, where the server has rooms. */
  schoolId?: number
}

/** Answers POST /publish with 204 once `publish` has sent its messages, anything else with 404. */
export function publishRoute(publish: (request: Publish) => void): RequestListener {
  return (request, response) => {
    if (request.method !== 'POST' || request.url !== '/publish') return void response.writeHead(404).end()
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => (body += chunk))
    request.on('end', () => {
      publish(body ? (JSON.parse(body) as Publish) : {})
      response.writeHead(204).end()
    })
  }
}
