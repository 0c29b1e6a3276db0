// The live school dashboard page: signs in through the API, renders a school's dashboard, and keeps it
// current over Socket.IO, resuming after each reconnection from the last event seen (docs/PROTOCOL.md).
// The session lasts all day: the access token lives in memory only and is renewed before it expires with
// the refresh token, an HttpOnly cookie this script cannot read; the live connection takes the new token
// in band (`refresh`), without reconnecting.
import { io } from '/dashboard/vendor/socket.io.esm.min.js'

const FEED_LIMIT = 50
const ADMIN_ROLES = new Set(['school_owner', 'school_admin'])
const ROLE_NAMES = { school_owner: 'Owner', school_admin: 'Admin', teacher: 'Teacher', student: 'Student' }

const $ = (id) => document.getElementById(id)
const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })

/** What the page shows for the open school; every update goes through here so that repeats are harmless. */
const state = {
  schoolId: null,
  /** seq -> activity; keyed by seq so that a replay or a reload never shows an entry twice. */
  feed: new Map(),
  /** The highest event seq seen: where a reconnection resumes. */
  lastSeq: 0,
  /** The seq of the counters shown; older metrics are ignored. */
  metricsSeq: -1,
  /** invitationId -> invitation. */
  invitations: new Map(),
  socket: null,
}

// --- the session: the access token in memory, the refresh token in an HttpOnly cookie (docs/SECURITY.md) ---

/** { token, expiresAt (ms), user } while signed in. Nothing of it is in Web Storage. */
let session = null
let renewalTimer = null
let renewing = null

function storedSession() {
  return session
}

function saveSession(token, expiresAt, user) {
  session = { token, expiresAt: Date.parse(expiresAt), user }
  scheduleRenewal()
}

function forgetSession() {
  session = null
  clearTimeout(renewalTimer)
}

/** Renews a while before the token expires: a minute, or a third of its life when it is shorter. */
function scheduleRenewal() {
  clearTimeout(renewalTimer)
  if (!session) return
  const left = session.expiresAt - Date.now()
  const ahead = Math.min(60_000, left / 3)
  renewalTimer = setTimeout(() => renewSession().catch(() => {}), Math.max(0, left - ahead))
}

/**
 * Exchanges the refresh cookie for a new access token (and a rotated cookie), once at a time in this tab
 * and, through the Web Locks API, across the tabs of this browser, which share the cookie: two tabs
 * presenting the same cookie at once would look like a stolen token and end the session.
 */
function renewSession() {
  renewing ??= (async () => {
    const refresh = () => fetch('/api/auth/refresh', { method: 'POST', headers: { accept: 'application/json' }, credentials: 'same-origin' })
    const response = navigator.locks ? await navigator.locks.request('school-dashboard-refresh', refresh) : await refresh()
    const body = await response.json().catch(() => null)
    if (!response.ok) throw new ApiError(response.status, body)
    const previous = session
    saveSession(body.token, body.expiresAt, body.user)
    if (previous && previous.user.id !== body.user.id) {
      // Another tab signed in as someone else: this tab follows the browser's session.
      startSession(body.user)
      return session
    }
    renewConnection()
    return session
  })().finally(() => {
    renewing = null
  })
  return renewing
}

/** Hands the current token to the live connection, in band; a reconnection uses it too. */
function renewConnection() {
  const socket = state.socket
  if (!socket || !session) return
  socket.auth.token = session.token
  // Socket.IO would buffer an emit while disconnected and send it after the reconnection: not wanted.
  if (socket.connected) socket.emit('refresh', { token: session.token })
}

/** Resumes the browser's session from its cookie (a reload, a new tab); false when there is none. */
async function resumeSession() {
  try {
    await renewSession()
    return true
  } catch {
    return false
  }
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `The server answered ${status}`)
    this.status = status
    this.code = body?.code
    this.errors = body?.errors ?? []
  }
}

async function api(method, path, body, retried = false) {
  const headers = { accept: 'application/json' }
  const current = storedSession()
  if (current) headers.authorization = `Bearer ${current.token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await response.text()
  const parsed = text ? JSON.parse(text) : null
  if (!response.ok) {
    const error = new ApiError(response.status, parsed)
    if (response.status === 401 && current && !path.startsWith('/api/auth/')) {
      // The access token expired (a sleeping laptop): renew it once and try again.
      if (!retried && (await resumeSession())) return api(method, path, body, true)
      signOut('Your session has expired; please sign in again.')
    }
    throw error
  }
  return parsed
}

// --- small rendering helpers (textContent only: nothing from the server is parsed as HTML) ---

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'className') node.className = value
    else node.setAttribute(name, value)
  }
  for (const child of children) node.append(child)
  return node
}

function showError(message) {
  const box = $('page-error')
  box.textContent = message ?? ''
  box.hidden = !message
}

function setConnection(stateName, text) {
  const badge = $('connection-state')
  badge.dataset.state = stateName
  badge.textContent = text
}

function showView(view) {
  for (const id of ['sign-in', 'school-picker', 'dashboard']) $(id).hidden = id !== view
}

// --- the dashboard's parts ---

function renderMetrics(metrics, seq) {
  if (seq !== undefined && seq < state.metricsSeq) return
  if (seq !== undefined) state.metricsSeq = seq
  for (const node of document.querySelectorAll('[data-metric]')) {
    const value = metrics[node.dataset.metric]
    if (typeof value === 'number') node.textContent = String(value)
  }
}

function addActivity(activity) {
  if (state.feed.has(activity.seq)) return false
  state.feed.set(activity.seq, activity)
  state.lastSeq = Math.max(state.lastSeq, activity.seq)
  return true
}

function activityItem(activity, fresh) {
  return element(
    'li',
    { 'data-seq': String(activity.seq), 'data-type': activity.type, className: fresh ? 'fresh' : '' },
    element('span', { className: 'summary' }, activity.summary),
    element('time', { datetime: activity.occurredAt }, timeFormat.format(new Date(activity.occurredAt))),
  )
}

/**
 * Brings the list in line with state.feed, newest first, touching only what changed: the list is a live
 * region, and re-creating every entry would have a screen reader read the whole feed again.
 */
function renderFeed(freshSeq) {
  const list = $('feed')
  const entries = [...state.feed.values()].sort((a, b) => b.seq - a.seq).slice(0, FEED_LIMIT)
  const kept = new Set(entries.map((entry) => entry.seq))
  for (const seq of [...state.feed.keys()]) if (!kept.has(seq)) state.feed.delete(seq)
  const shown = new Map([...list.children].map((item) => [Number(item.dataset.seq), item]))
  let previous = null
  for (const activity of entries) {
    const item = shown.get(activity.seq) ?? activityItem(activity, activity.seq === freshSeq)
    shown.delete(activity.seq)
    const slot = previous ? previous.nextSibling : list.firstChild
    if (item !== slot) list.insertBefore(item, slot)
    previous = item
  }
  for (const stale of shown.values()) stale.remove()
}

function upsertInvitation(invitation) {
  const known = state.invitations.get(invitation.id)
  state.invitations.set(invitation.id, { ...known, ...invitation })
}

function renderInvitations() {
  const rows = [...state.invitations.values()]
    .sort((a, b) => b.id - a.id)
    .map((invitation) =>
      element(
        'tr',
        { 'data-invitation-id': String(invitation.id) },
        element('td', {}, invitation.email),
        element('td', {}, ROLE_NAMES[invitation.role] ?? invitation.role),
        element('td', { className: `status status-${invitation.status}` }, invitation.status),
        element('td', {}, invitation.expiresAt ? dateFormat.format(new Date(invitation.expiresAt)) : '–'),
      ),
    )
  document.querySelector('#invitations tbody').replaceChildren(...rows)
  $('no-invitations').hidden = rows.length > 0
}

/** Who has this dashboard open right now, on any instance (presence_update). */
function renderWatchers(watchers) {
  const items = watchers.map((watcher) =>
    element(
      'li',
      { 'data-user-id': String(watcher.id) },
      `${watcher.name} (${ROLE_NAMES[watcher.role] ?? watcher.role})${watcher.connections > 1 ? `, ${watcher.connections} windows` : ''}`,
    ),
  )
  $('watchers').replaceChildren(...(items.length > 0 ? items : [element('li', {}, 'Nobody')]))
}

/** The first render, and the reload after resume_unavailable: the API's view replaces what is shown. */
async function loadDashboard(schoolId) {
  const [dashboard, invitations] = await Promise.all([
    api('GET', `/api/accounts/schools/${schoolId}/dashboard/`),
    api('GET', `/api/accounts/schools/${schoolId}/invitations/`),
  ])
  if (state.schoolId !== schoolId) return null
  // A reload is not news: screen readers wait for the list to settle instead of reading each entry.
  $('feed').setAttribute('aria-busy', 'true')
  $('school-name').textContent = `· ${dashboard.school.name}`
  document.title = `${dashboard.school.name} · School dashboard`
  // Live entries newer than the reload stay; everything else comes from the API.
  for (const seq of [...state.feed.keys()]) if (seq <= dashboard.lastEventSeq) state.feed.delete(seq)
  for (const activity of dashboard.recentActivity) addActivity(activity)
  state.lastSeq = Math.max(state.lastSeq, dashboard.lastEventSeq)
  renderFeed()
  $('feed').setAttribute('aria-busy', 'false')
  renderMetrics(dashboard.metrics, dashboard.lastEventSeq)
  for (const invitation of invitations) upsertInvitation(invitation)
  renderInvitations()
  return dashboard
}

let invitationsReload = null
/** A new invitation arrives live without its dates; fetch the list once things settle. */
function reloadInvitationsSoon() {
  clearTimeout(invitationsReload)
  const schoolId = state.schoolId
  invitationsReload = setTimeout(async () => {
    try {
      const invitations = await api('GET', `/api/accounts/schools/${schoolId}/invitations/`)
      if (state.schoolId !== schoolId) return
      for (const invitation of invitations) upsertInvitation(invitation)
      renderInvitations()
    } catch {
      // The live row is there already; the dates can wait for the next change.
    }
  }, 300)
}

// --- the live connection ---

function connect(schoolId) {
  const { token } = storedSession()
  let renewedForReconnect = false
  setConnection('connecting', 'Connecting…')
  // The page's own origin: the load balancer sends /socket.io/ to the realtime service.
  const socket = io({ auth: { token, schoolId, since: state.lastSeq }, reconnectionDelayMax: 5_000 })
  state.socket = socket

  // Resume from the last event seen, whichever attempt this is.
  socket.io.on('reconnect_attempt', (attempt) => {
    socket.auth.since = state.lastSeq
    setConnection('reconnecting', `Reconnecting… (attempt ${attempt})`)
  })
  socket.on('connect', () => {
    renewedForReconnect = false
    setConnection('connected', 'Connected')
    showError(null)
  })
  // The connection's token expires soon: renew it in band (a token newer than the connection's is sent as is).
  socket.on('token_expiring', (message) => {
    if (session && session.expiresAt > Date.parse(message.data.expiresAt)) renewConnection()
    else renewSession().catch(() => {})
  })
  socket.on('error', (message) => {
    const code = message?.data?.code
    if (code === 'session_revoked') signOut('Your session has ended (signed out in another window, or the password was changed); please sign in again.')
    else if (code === 'token_mismatch') {
      // The browser's session changed (another tab signed in again): reconnect with its token.
      socket.disconnect()
      socket.auth.since = state.lastSeq
      socket.connect()
    } else if (code === 'access_revoked') {
      socket.close()
      setConnection('offline', 'Offline')
      showError('You are no longer an owner or admin of this school.')
    } else if (code === 'token_expired') renewSession().catch(() => {})
  })
  socket.on('disconnect', (reason) => {
    if (reason === 'io client disconnect') return
    if (!navigator.onLine) setConnection('offline', 'Offline')
    else setConnection('reconnecting', 'Reconnecting…')
    // The server closed the session itself (e.g. a slow consumer): Socket.IO does not retry that on its own.
    if (reason === 'io server disconnect') {
      setTimeout(() => {
        if (state.socket !== socket) return
        socket.auth.since = state.lastSeq
        socket.connect()
      }, 1_000)
    }
  })
  socket.on('connect_error', (error) => {
    const refused = error.data?.code ?? (['unauthorized', 'forbidden', 'school_not_found'].includes(error.message) ? error.message : null)
    if (refused === 'unauthorized') {
      // Its token expired while the connection was down (a realtime restart): renew once, then retry.
      if (renewedForReconnect) return signOut('Your session has expired; please sign in again.')
      renewedForReconnect = true
      renewSession().then(
        () => {
          if (state.socket !== socket) return
          socket.auth.token = session.token
          socket.auth.since = state.lastSeq
          socket.connect()
        },
        () => signOut('Your session has expired; please sign in again.'),
      )
    } else if (refused) {
      socket.close()
      setConnection('offline', 'Offline')
      showError(error.data?.message ?? `The dashboard refused the connection (${refused}).`)
    } else {
      setConnection(navigator.onLine ? 'reconnecting' : 'offline', navigator.onLine ? 'Reconnecting…' : 'Offline')
    }
  })

  socket.on('metrics_update', (message) => renderMetrics(message.data, message.seq))
  socket.on('presence_update', (message) => renderWatchers(message.data.watchers))
  socket.on('activity_new', (message) => {
    if (addActivity(message.data)) renderFeed(message.data.seq)
  })
  socket.on('invitation_status_update', (message) => {
    const { invitationId, email, role, status } = message.data
    const isNew = !state.invitations.has(invitationId)
    upsertInvitation({ id: invitationId, email, role, status })
    renderInvitations()
    if (isNew) reloadInvitationsSoon()
  })
  socket.on('resume_unavailable', (message) => {
    // Too far behind (or ahead of a restored log): the API's view replaces the feed, the snapshot that
    // follows replaces the counters, and later reconnections resume from the log's end.
    state.feed.clear()
    state.lastSeq = message.data.lastEventSeq
    state.metricsSeq = -1
    loadDashboard(schoolId).catch((error) => showError(error.message))
  })
}

window.addEventListener('offline', () => {
  if (state.socket) setConnection('offline', 'Offline')
})
window.addEventListener('online', () => {
  if (state.socket && !state.socket.connected) setConnection('reconnecting', 'Reconnecting…')
})

function closeSchool() {
  state.socket?.close()
  state.socket = null
  state.schoolId = null
  state.feed.clear()
  state.invitations.clear()
  $('feed').replaceChildren()
  renderInvitations()
  state.lastSeq = 0
  state.metricsSeq = -1
  setConnection('idle', 'Not connected')
  $('school-name').textContent = ''
  document.title = 'School dashboard'
}

async function openSchool(schoolId) {
  closeSchool()
  state.schoolId = schoolId
  history.replaceState(null, '', `#school=${schoolId}`)
  showView('dashboard')
  try {
    await loadDashboard(schoolId)
  } catch (error) {
    if (error.status !== 401) showError(error.message)
    return
  }
  if (state.schoolId === schoolId) connect(schoolId)
}

// --- signing in and choosing a school ---

function adminSchools(user) {
  return user.memberships.filter((membership) => ADMIN_ROLES.has(membership.role))
}

function showSchoolPicker(user) {
  closeSchool()
  const schools = adminSchools(user)
  $('school').replaceChildren(
    ...schools.map((membership) =>
      element('option', { value: String(membership.schoolId) }, `${membership.schoolName} (${ROLE_NAMES[membership.role]})`),
    ),
  )
  $('school-form').hidden = schools.length === 0
  $('no-schools').hidden = schools.length > 0
  showView('school-picker')
}

function signOut(message) {
  closeSchool()
  forgetSession()
  history.replaceState(null, '', location.pathname)
  $('session').hidden = true
  showView('sign-in')
  showError(message ?? null)
}

function startSession(user) {
  $('signed-in-as').textContent = `Signed in as ${user.name}`
  $('session').hidden = false
  const fromHash = Number(/^#school=(\d+)$/.exec(location.hash)?.[1])
  if (adminSchools(user).some((membership) => membership.schoolId === fromHash)) openSchool(fromHash)
  else showSchoolPicker(user)
}

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = event.currentTarget
  const email = form.elements.email.value.trim()
  const password = form.elements.password.value
  if (!email || !password) {
    showError('Enter your email and password.')
    return
  }
  try {
    const { token, expiresAt, user } = await api('POST', '/api/auth/login', { email, password })
    saveSession(token, expiresAt, user)
    form.reset()
    showError(null)
    startSession(user)
  } catch (error) {
    showError(error.code === 'invalid_credentials' ? 'That email and password do not match an account.' : error.message)
  }
})

$('school-form').addEventListener('submit', (event) => {
  event.preventDefault()
  openSchool(Number($('school').value))
})

$('sign-out').addEventListener('click', async () => {
  // Ends the session for every tab of this browser (and its live connections, on the server).
  const current = storedSession()
  const headers = current ? { authorization: `Bearer ${current.token}` } : {}
  await fetch('/api/auth/logout', { method: 'POST', headers, credentials: 'same-origin' }).catch(() => {})
  signOut()
})

$('invite-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = event.currentTarget
  const result = $('invite-result')
  const body = { email: form.elements.email.value.trim(), role: form.elements.role.value }
  const message = form.elements.message.value.trim()
  if (message) body.message = message
  result.textContent = 'Sending…'
  try {
    const invitation = await api('POST', `/api/accounts/schools/${state.schoolId}/invitations/`, body)
    result.textContent = `Invitation sent to ${invitation.email}.`
    // The accept link is the invitee's secret: it is not kept.
    const { acceptUrl: _secret, ...shown } = invitation
    upsertInvitation(shown)
    renderInvitations()
    form.reset()
  } catch (error) {
    const details = error.errors.map((entry) => `${entry.field} ${entry.message}`).join('; ')
    result.textContent = `Not sent: ${error.message}${details ? ` (${details})` : ''}`
  }
})

if (await resumeSession()) startSession(session.user)
else showView('sign-in')
