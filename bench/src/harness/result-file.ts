// The record of one scenario run: the machine, the load around it, the exact command, every round and the
// medians; written as JSON and rendered as a markdown table.
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { GENERATOR_SATURATION } from './generator-cpu.js'
import type { PinningReport } from './pinning.js'
import type { ScenarioReport } from './scenario.js'
import { round } from './statistics.js'

export interface ScenarioResult extends ScenarioReport {
  scenario: string
  mode: 'quick' | 'full'
  rounds: number
  date: string
  command: string
  machine: { cpu: string; cores: number; memoryMb: number; kernel: string; node: string }
  /** 1-minute load average before and after: other work on the machine skews every figure. */
  load: { before: number; after: number }
  pinning: PinningReport
  voided: boolean
  voidReasons: string[]
  durationSeconds: number
}

export function machineInfo(): ScenarioResult['machine'] {
  const list = cpus()
  return {
    cpu: list[0]?.model ?? 'unknown',
    cores: list.length,
    memoryMb: Math.round(totalmem() / 2 ** 20),
    kernel: release(),
    node: process.version,
  }
}

export function currentLoad(): number {
  return loadavg()[0] ?? 0
}

/** Arms whose generator was saturated ("group / arm"); informational arms may be, targets' arms may not. */
export function saturatedArms(report: ScenarioReport): string[] {
  if (!report.voidOnSaturation) return []
  return report.groups.flatMap((group) =>
    group.arms.filter((arm) => arm.generatorCpuMax > GENERATOR_SATURATION).map((arm) => `${group.name} / ${arm.name}`),
  )
}

/** Why the run is void: a target computed from an arm whose generator was saturated. */
export function voidReasons(report: ScenarioReport): string[] {
  const saturated = new Set(saturatedArms(report))
  return report.targets
    .filter((target) => target.arms.some((arm) => saturated.has(arm)))
    .map((target) => `${target.name}: generator saturated in ${target.arms.filter((arm) => saturated.has(arm)).join(', ')}`)
}

export async function writeResult(result: ScenarioResult, outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true })
  const stamp = result.date.replace(/[:.]/g, '-')
  const file = join(outDir, `${result.scenario}-${result.mode}-${stamp}.json`)
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`)
  return file
}

function cell(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '-'
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  return String(round(value, abs >= 100 ? 0 : abs >= 1 ? 2 : 4))
}

export function markdownTable(result: ScenarioResult): string {
  const lines: string[] = [
    `### ${result.scenario} (${result.mode}, ${result.rounds} round(s), ${result.date})`,
    '',
    `load average before/after: ${round(result.load.before)} / ${round(result.load.after)}; ` +
      `pinned: ${result.pinning.pinned ? `server CPU ${result.pinning.serverCpu}, generator CPU ${result.pinning.generatorCpu}` : 'no'}`,
    '',
  ]
  for (const group of result.groups) {
    const metrics = Object.keys(group.arms[0]?.median ?? {}).filter((metric) => !result.tableMetrics || result.tableMetrics.includes(metric))
    lines.push(`**${group.name}** (medians)`, '')
    lines.push(`| arm | ${metrics.join(' | ')} | generator CPU (max) |`)
    lines.push(`| --- | ${metrics.map(() => '---:').join(' | ')} | ---: |`)
    for (const arm of group.arms) {
      lines.push(`| ${arm.name} | ${metrics.map((metric) => cell(arm.median[metric])).join(' | ')} | ${Math.round(arm.generatorCpuMax * 100)}% |`)
    }
    lines.push('')
  }
  for (const table of result.tables ?? []) lines.push(table, '')
  if (result.targets.length > 0) {
    lines.push('| target | value | wanted | met |', '| --- | ---: | ---: | --- |')
    for (const target of result.targets) {
      lines.push(`| ${target.name} | ${cell(target.value)} | ${target.comparison} ${target.target} | ${target.met ? 'yes' : '**no**'} |`)
    }
    lines.push('')
  }
  const saturated = saturatedArms(result)
  if (saturated.length > 0) lines.push(`generator saturated (> ${GENERATOR_SATURATION * 100}% of a core) in: ${saturated.join('; ')}`, '')
  if (result.voided) lines.push(`**VOID**: ${result.voidReasons.join('; ')}`, '')
  for (const note of result.notes) lines.push(`- ${note}`)
  return lines.join('\n')
}
