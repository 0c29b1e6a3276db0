// Draws the idle cost of the many-schools run as an SVG: against the number of schools with their dashboards
// open, the CPU of the realtime service (beside the api and the bare ws server holding as many connections),
// the Redis commands/s and the PostgreSQL transactions/s of the services; dots are rounds, lines medians.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { GroupResult } from '../harness/scenario.js'
import { formatTick, niceMax } from './fanout-chart.js'

interface Line {
  label: string
  color: string
  /** Per size: the schools, each round's value and the median. */
  points: Array<{ schools: number; rounds: number[]; median: number }>
}

interface Panel {
  title: string
  lines: Line[]
  /** A target drawn as a dashed line. */
  ceiling?: number
}

const PANEL = { width: 300, height: 240, left: 60, top: 40, gap: 50 }
const BARE_ARM = 'bare ws'

function lineOf(groups: GroupResult[], arm: (name: string) => boolean, metric: string, label: string, color: string, scale = 1): Line {
  const points: Line['points'] = []
  for (const group of groups) {
    const found = group.arms.find((candidate) => arm(candidate.name))
    const schools = found?.median.schools
    const median = found?.median[metric]
    if (!found || schools === undefined || median === undefined) continue
    points.push({ schools, rounds: found.runs.map((run) => (run.metrics[metric] ?? Number.NaN) * scale), median: median * scale })
  }
  return { label, color, points: points.sort((a, b) => a.schools - b.schools) }
}

function drawPanel(panel: Panel, offsetX: number, xMax: number): string {
  const values = panel.lines.flatMap((line) => line.points.flatMap((point) => [point.median, ...point.rounds])).filter(Number.isFinite)
  const yMax = niceMax(Math.max(panel.ceiling ?? 0, ...values, 1e-9))
  const x = (schools: number) => offsetX + PANEL.left + (schools / xMax) * PANEL.width
  const y = (value: number) => PANEL.top + PANEL.height - (value / yMax) * PANEL.height
  const parts = [`<text x="${offsetX + PANEL.left + PANEL.width / 2}" y="${PANEL.top - 15}" text-anchor="middle" font-weight="bold">${panel.title}</text>`]
  for (let i = 0; i <= 5; i++) {
    const [xv, yv] = [(xMax / 5) * i, (yMax / 5) * i]
    parts.push(`<line x1="${x(0)}" x2="${x(xMax)}" y1="${y(yv)}" y2="${y(yv)}" stroke="#ddd"/>`)
    parts.push(`<text x="${x(0) - 6}" y="${y(yv) + 4}" text-anchor="end" font-size="11">${formatTick(yv)}</text>`)
    parts.push(`<text x="${x(xv)}" y="${y(0) + 16}" text-anchor="middle" font-size="11">${formatTick(xv)}</text>`)
  }
  parts.push(`<text x="${x(xMax / 2)}" y="${y(0) + 36}" text-anchor="middle" font-size="12">schools with dashboards open</text>`)
  if (panel.ceiling !== undefined) {
    parts.push(`<line x1="${x(0)}" x2="${x(xMax)}" y1="${y(panel.ceiling)}" y2="${y(panel.ceiling)}" stroke="#999" stroke-dasharray="4 3"/>`)
  }
  for (const line of panel.lines) {
    const path = line.points.map((point) => `${x(point.schools).toFixed(1)},${y(point.median).toFixed(1)}`).join(' ')
    parts.push(`<polyline fill="none" stroke="${line.color}" stroke-width="1.5" points="${path}"/>`)
    for (const point of line.points) {
      for (const value of point.rounds.filter(Number.isFinite)) {
        parts.push(`<circle cx="${x(point.schools).toFixed(1)}" cy="${y(value).toFixed(1)}" r="3" fill="white" stroke="${line.color}"/>`)
      }
      parts.push(`<circle cx="${x(point.schools).toFixed(1)}" cy="${y(point.median).toFixed(1)}" r="3" fill="${line.color}"/>`)
    }
  }
  parts.push(`<line x1="${x(0)}" x2="${x(0)}" y1="${y(0)}" y2="${y(yMax)}" stroke="#333"/>`)
  parts.push(`<line x1="${x(0)}" x2="${x(xMax)}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`)
  return parts.join('\n')
}

/** `groups`: one per size, each with a realtime arm and the bare ws arm (metrics of many-schools). */
export function renderIdleCostSvg(groups: GroupResult[], caption: string, targets: { redisPerSecond: number; pgPerSecond: number }): string {
  const realtime = (name: string) => name !== BARE_ARM
  const panels: Panel[] = [
    {
      title: 'idle CPU, % of a core',
      lines: [
        lineOf(groups, realtime, 'serverCpu', 'realtime', '#d62728', 100),
        lineOf(groups, realtime, 'apiCpu', 'api', '#ff7f0e', 100),
        lineOf(groups, (name) => name === BARE_ARM, 'serverCpu', 'bare ws (same connections)', '#1f77b4', 100),
      ],
    },
    {
      title: 'Redis commands/s (api + realtime)',
      lines: [lineOf(groups, realtime, 'redisCommandsPerSecond', 'api + realtime', '#d62728')],
      ceiling: targets.redisPerSecond,
    },
    {
      title: 'PostgreSQL transactions/s',
      lines: [lineOf(groups, realtime, 'pgTransactionsPerSecond', 'api + realtime', '#d62728')],
      ceiling: targets.pgPerSecond,
    },
  ]
  const xMax = niceMax(Math.max(1, ...panels.flatMap((panel) => panel.lines.flatMap((line) => line.points.map((point) => point.schools)))))
  const width = panels.length * (PANEL.left + PANEL.width + PANEL.gap)
  const height = PANEL.top + PANEL.height + 115
  const legend = panels[0]!.lines
    .map((line, i) => `<rect x="${PANEL.left + i * 220}" y="${height - 55}" width="12" height="12" fill="${line.color}"/><text x="${PANEL.left + i * 220 + 18}" y="${height - 45}" font-size="12">${line.label}</text>`)
    .join('\n')
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panels.map((panel, i) => drawPanel(panel, i * (PANEL.left + PANEL.width + PANEL.gap), xMax)),
    legend,
    `<text x="${PANEL.left}" y="${height - 25}" font-size="11" fill="#555">${caption}</text>`,
    `<text x="${PANEL.left}" y="${height - 10}" font-size="11" fill="#555">Filled dots: medians; hollow: rounds. Dashed: the targets (${targets.redisPerSecond} commands/s, ${targets.pgPerSecond} transactions/s).</text>`,
    '</svg>',
  ].join('\n')
}

export async function writeIdleCostChart(
  groups: GroupResult[],
  outDir: string,
  mode: string,
  caption: string,
  targets: { redisPerSecond: number; pgPerSecond: number },
): Promise<string> {
  await mkdir(outDir, { recursive: true })
  const file = join(outDir, `many-schools-${mode}-${new Date().toISOString().replace(/[:.]/g, '-')}.svg`)
  await writeFile(file, renderIdleCostSvg(groups, caption, targets))
  return file
}
