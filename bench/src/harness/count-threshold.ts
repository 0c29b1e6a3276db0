// A count that something waits to reach: the timed deliveries of a window, the activity messages of a fleet.
export class CountThreshold {
  #count = 0
  #waiter: { target: number; resolve: (reached: boolean) => void; timer: NodeJS.Timeout } | undefined

  get count(): number {
    return this.#count
  }

  /** Counts one more, and wakes the waiter if that reached its target. */
  add(): void {
    this.#count++
    if (this.#waiter && this.#count >= this.#waiter.target) {
      clearTimeout(this.#waiter.timer)
      this.#waiter.resolve(true)
      this.#waiter = undefined
    }
  }

  /** Resolves true once the count reaches `target`, false after `timeoutMs`. */
  reached(target: number, timeoutMs: number): Promise<boolean> {
    if (this.#count >= target) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined
        resolve(false)
      }, timeoutMs)
      this.#waiter = { target, resolve, timer }
    })
  }
}
