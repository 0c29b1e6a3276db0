// Draws the churn run as an SVG: the server's post-GC heap against time, one line per arm and round, from
// empty through the steady connections joining, the soak, and everyone leaving; a leak is a rising line.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { GroupResult } from '../harness/scenario.js'
import { formatTick, niceMax } from './fanout-chart.js'

/** One post-GC heap sample of a churn run. */
export interface HeapPoint {
  phase: 'empty' | 'start' | 'soak' | 'after soak' | 'after leave'
  /** Seconds since the steady connections had joined. */
  atSeconds: number
  heapUsed: number
  rss: number
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e']
const PLOT = { width: 640, height: 300, left: 70, top: 40 }

export function renderChurnSvg(group: GroupResult, caption: string): string {
  const series = group.arms.flatMap((arm, armIndex) =>
    arm.runs.map((run) => ({ arm: arm.name, color: COLORS[armIndex % COLORS.length]!, points: (run.detail as { points: HeapPoint[] }).points })),
  )
  const all = series.flatMap((s) => s.points)
  const xMax = niceMax(Math.max(1, ...all.map((point) => point.atSeconds)))
  const yMax = niceMax(Math.max(1, ...all.map((point) => point.heapUsed / 2 ** 20)))
  const x = (seconds: number) => PLOT.left + (seconds / xMax) * PLOT.width
  const y = (mib: number) => PLOT.top + PLOT.height - (mib / yMax) * PLOT.height
  const width = PLOT.left + PLOT.width + 40
  const height = PLOT.top + PLOT.height + 115
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${PLOT.left + PLOT.width / 2}" y="${PLOT.top - 15}" text-anchor="middle" font-weight="bold">server heap after GC, MiB</text>`,
  ]
  for (let i = 0; i <= 5; i++) {
    const [xv, yv] = [(xMax / 5) * i, (yMax / 5) * i]
    parts.push(`<line x1="${x(0)}" x2="${x(xMax)}" y1="${y(yv)}" y2="${y(yv)}" stroke="#ddd"/>`)
    parts.push(`<text x="${x(0) - 6}" y="${y(yv) + 4}" text-anchor="end" font-size="11">${formatTick(yv)}</text>`)
    parts.push(`<text x="${x(xv)}" y="${y(0) + 16}" text-anchor="middle" font-size="11">${formatTick(xv)}</text>`)
  }
  parts.push(`<text x="${x(xMax / 2)}" y="${y(0) + 36}" text-anchor="middle" font-size="12">seconds since the steady connections joined</text>`)
  for (const s of series) {
    const path = s.points.map((point) => `${x(point.atSeconds).toFixed(1)},${y(point.heapUsed / 2 ** 20).toFixed(1)}`).join(' ')
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" stroke-opacity="0.8" points="${path}"/>`)
    for (const point of s.points) {
      const filled = point.phase === 'empty' || point.phase === 'after leave'
      parts.push(`<circle cx="${x(point.atSeconds).toFixed(1)}" cy="${y(point.heapUsed / 2 ** 20).toFixed(1)}" r="3" fill="${filled ? s.color : 'white'}" stroke="${s.color}"/>`)
    }
  }
  parts.push(`<line x1="${x(0)}" x2="${x(0)}" y1="${y(0)}" y2="${y(yMax)}" stroke="#333"/>`)
  parts.push(`<line x1="${x(0)}" x2="${x(xMax)}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`)
  const arms = [...new Map(series.map((s) => [s.arm, s.color])).entries()]
  arms.forEach(([arm, color], i) => {
    parts.push(`<rect x="${PLOT.left + i * 200}" y="${height - 55}" width="12" height="12" fill="${color}"/><text x="${PLOT.left + i * 200 + 18}" y="${height - 45}" font-size="12">${arm}</text>`)
  })
  parts.push(
    `<text x="${PLOT.left}" y="${height - 25}" font-size="11" fill="#555">${caption}</text>`,
    `<text x="${PLOT.left}" y="${height - 10}" font-size="11" fill="#555">Filled dots: empty server and after everyone left; hollow: steady joined, soak, after soak. One line per round.</text>`,
    '</svg>',
  )
  return parts.join('\n')
}

export async function writeChurnChart(group: GroupResult, outDir: string, mode: string): Promise<string> {
  await mkdir(outDir, { recursive: true })
  const file = join(outDir, `churn-${mode}-${new Date().toISOString().replace(/[:.]/g, '-')}.svg`)
  await writeFile(file, renderChurnSvg(group, `${group.name}, ${mode} mode.`))
  return file
}
