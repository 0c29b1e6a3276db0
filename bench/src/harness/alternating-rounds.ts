// Runs the arms of one comparison in alternated rounds (A/B/A/B...) so that drift in the machine's load
// hits every arm alike, and reduces each arm to the median of its rounds.
import type { Arm, ArmResult, ArmRun, GroupResult, TargetCheck } from './scenario.js'
import { median } from './statistics.js'

export interface AlternatingOptions {
  /**
   * Each round starts with the next arm (A/B/C, B/C/A, C/A/B...), so that what the first measured window
   * of a group meets (a cold cache, the previous group's backlog) does not always fall on the same arm.
   */
  rotate?: boolean
}

export async function runAlternating(name: string, arms: Arm[], rounds: number, options: AlternatingOptions = {}): Promise<GroupResult> {
  const runs = new Map<string, ArmRun[]>(arms.map((arm) => [arm.name, []]))
  for (let round = 0; round < rounds; round++) {
    const shift = options.rotate ? round % arms.length : 0
    for (const arm of [...arms.slice(shift), ...arms.slice(0, shift)]) {
      process.stderr.write(`[bench] ${name}: round ${round + 1}/${rounds}, arm ${arm.name}\n`)
      const run = await arm.measure(round)
      runs.get(arm.name)!.push(run)
    }
  }
  return { name, arms: arms.map((arm) => summarise(arm.name, runs.get(arm.name)!)) }
}

function summarise(name: string, runs: ArmRun[]): ArmResult {
  const keys = Object.keys(runs[0]?.metrics ?? {})
  const medians: Record<string, number> = {}
  for (const key of keys) medians[key] = median(runs.map((run) => run.metrics[key] ?? Number.NaN))
  return { name, runs, median: medians, generatorCpuMax: Math.max(0, ...runs.map((run) => run.generatorCpu)) }
}

export function armMedian(group: GroupResult, arm: string, metric: string): number {
  const found = group.arms.find((candidate) => candidate.name === arm)
  if (!found) throw new Error(`no arm ${arm} in ${group.name}`)
  return found.median[metric] ?? Number.NaN
}

type PairTarget = (
  name: string,
  group: GroupResult,
  ours: string,
  baseline: string,
  metric: string,
  comparison: '>=' | '<=',
  target: number,
) => TargetCheck

/** A target on one figure made of two arms' medians of one metric. */
function pairTarget(combine: (ours: number, baseline: number) => number): PairTarget {
  return (name, group, ours, baseline, metric, comparison, target) => {
    const value = combine(armMedian(group, ours, metric), armMedian(group, baseline, metric))
    return absoluteTarget(name, value, comparison, target, [`${group.name} / ${ours}`, `${group.name} / ${baseline}`])
  }
}

/** ours/baseline of one metric's medians, checked against a target. */
export const ratioTarget = pairTarget((ours, baseline) => ours / baseline)

/** ours - baseline of one metric's medians (e.g. the ms a pipeline adds to a p99), checked against a target. */
export const differenceTarget = pairTarget((ours, baseline) => ours - baseline)

export function absoluteTarget(name: string, value: number, comparison: '>=' | '<=', target: number, arms: string[]): TargetCheck {
  const met = Number.isFinite(value) && (comparison === '>=' ? value >= target : value <= target)
  return { name, value, comparison, target, met, arms }
}
