// Draws the fanout ramp as an SVG: delivered messages/s and p99 latency against the offered rate, one
// line per arm and round, so the knee of each curve is visible at a glance.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { GroupResult } from '../harness/scenario.js'

interface StepPoint {
  eventsPerSecond: number
  deliveredPerSecond: number
  p99Ms: number
  passed: boolean
  generatorSaturated?: boolean
  retried?: boolean
}

interface Series {
  arm: string
  color: string
  points: Array<{ x: number; delivered: number; p99: number; passed: boolean; saturated: boolean }>
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e']
const PANEL = { width: 420, height: 300, left: 70, top: 40, gap: 90 }

function seriesOf(group: GroupResult): Series[] {
  const series: Series[] = []
  group.arms.forEach((arm, armIndex) => {
    for (const run of arm.runs) {
      const detail = run.detail as { clients: number; steps: StepPoint[] } | undefined
      if (!detail) continue
      series.push({
        arm: arm.name,
        color: COLORS[armIndex % COLORS.length]!,
        points: detail.steps.filter((step) => !step.retried).map((step) => ({
          x: step.eventsPerSecond * detail.clients,
          delivered: step.deliveredPerSecond,
          p99: Number.isFinite(step.p99Ms) ? step.p99Ms : 0,
          passed: step.passed,
          saturated: step.generatorSaturated ?? false,
        })),
      })
    }
  })
  return series
}

export function niceMax(value: number): number {
  if (value <= 0) return 1
  const magnitude = 10 ** Math.floor(Math.log10(value))
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= value)!
}

export function formatTick(value: number): string {
  return value >= 1000 ? `${Math.round(value / 100) / 10}k` : String(Math.round(value * 10) / 10)
}

function panel(series: Series[], pick: 'delivered' | 'p99', offsetX: number, title: string, ceiling?: number): string {
  const xMax = niceMax(Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.x))))
  const yMax = niceMax(Math.max(ceiling ?? 1, ...series.flatMap((s) => s.points.map((p) => p[pick]))))
  const x = (value: number) => offsetX + PANEL.left + (value / xMax) * PANEL.width
  const y = (value: number) => PANEL.top + PANEL.height - (Math.min(value, yMax) / yMax) * PANEL.height
  const parts: string[] = [`<text x="${offsetX + PANEL.left + PANEL.width / 2}" y="${PANEL.top - 15}" text-anchor="middle" font-weight="bold">${title}</text>`]
  for (let i = 0; i <= 5; i++) {
    const xv = (xMax / 5) * i
    const yv = (yMax / 5) * i
    parts.push(`<line x1="${x(0)}" x2="${x(xMax)}" y1="${y(yv)}" y2="${y(yv)}" stroke="#ddd"/>`)
    parts.push(`<text x="${x(0) - 6}" y="${y(yv) + 4}" text-anchor="end" font-size="11">${formatTick(yv)}</text>`)
    parts.push(`<text x="${x(xv)}" y="${y(0) + 16}" text-anchor="middle" font-size="11">${formatTick(xv)}</text>`)
  }
  parts.push(`<text x="${x(xMax / 2)}" y="${y(0) + 36}" text-anchor="middle" font-size="12">offered activity messages/s (events/s x clients)</text>`)
  if (ceiling !== undefined) {
    parts.push(`<line x1="${x(0)}" x2="${x(xMax)}" y1="${y(ceiling)}" y2="${y(ceiling)}" stroke="#999" stroke-dasharray="4 3"/>`)
  }
  for (const s of series) {
    const path = s.points.map((p) => `${x(p.x).toFixed(1)},${y(p[pick]).toFixed(1)}`).join(' ')
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" stroke-opacity="0.8" points="${path}"/>`)
    for (const p of s.points) {
      if (p.saturated) {
        const [cx, cy] = [x(p.x), y(p[pick])]
        parts.push(`<path d="M${cx - 4},${cy - 4}L${cx + 4},${cy + 4}M${cx - 4},${cy + 4}L${cx + 4},${cy - 4}" stroke="${s.color}" stroke-width="2"/>`)
        continue
      }
      parts.push(`<circle cx="${x(p.x).toFixed(1)}" cy="${y(p[pick]).toFixed(1)}" r="3" fill="${p.passed ? s.color : 'white'}" stroke="${s.color}"/>`)
    }
  }
  parts.push(`<line x1="${x(0)}" x2="${x(0)}" y1="${y(0)}" y2="${y(yMax)}" stroke="#333"/>`)
  parts.push(`<line x1="${x(0)}" x2="${x(xMax)}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`)
  return parts.join('\n')
}

export function renderFanoutSvg(group: GroupResult, caption: string): string {
  const series = seriesOf(group)
  const width = 2 * (PANEL.left + PANEL.width) + PANEL.gap
  const height = PANEL.top + PANEL.height + 110
  const arms = [...new Map(series.map((s) => [s.arm, s.color])).entries()]
  const legend = arms
    .map(([arm, color], i) => `<rect x="${PANEL.left + i * 200}" y="${height - 40}" width="12" height="12" fill="${color}"/><text x="${PANEL.left + i * 200 + 18}" y="${height - 30}" font-size="12">${arm}</text>`)
    .join('\n')
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel(series, 'delivered', 0, 'delivered activity messages/s'),
    panel(series, 'p99', PANEL.left + PANEL.width + PANEL.gap, 'p99 latency, ms (dashed: 100 ms limit)', 100),
    legend,
    `<text x="${PANEL.left}" y="${height - 10}" font-size="11" fill="#555">${caption} Filled dot: step passed (delivery &gt;= 99.99%, p99 &lt;= 100 ms); hollow: failed; cross: void (load generator saturated). One line per round.</text>`,
    '</svg>',
  ].join('\n')
}

/** Writes the ramp chart of a fanout (or scale-out, same steps) run next to its JSON. */
export async function writeFanoutChart(group: GroupResult, outDir: string, mode: string, scenario = 'fanout'): Promise<string> {
  await mkdir(outDir, { recursive: true })
  const file = join(outDir, `${scenario}-${mode}-${new Date().toISOString().replace(/[:.]/g, '-')}.svg`)
  await writeFile(file, renderFanoutSvg(group, `${group.name}, ${mode} mode.`))
  return file
}
