/** Edit distance between two words (Levenshtein), for "did you mean". */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

/** The nearest candidate, or undefined when none is near enough to be what was meant. */
export function closest(word: string, candidates: string[], maxDistance = Math.max(2, Math.floor(word.length / 3))): string | undefined {
  const best = candidates
    .map((candidate) => ({candidate, distance: editDistance(word, candidate)}))
    .sort((a, b) => a.distance - b.distance)[0]
  return best && best.distance <= maxDistance ? best.candidate : undefined
}

/**
 * The choice a mistyped value most likely meant: one it starts or ends (htm → html, prod →
 * production), else the nearest by edit distance when near enough; undefined when none is.
 */
export function nearestChoice(typed: string, choices: string[]): string | undefined {
  const word = typed.trim().toLowerCase()
  if (!word) return undefined
  const byCase = choices.find((choice) => choice.toLowerCase() === word)
  if (byCase) return byCase
  const affixed = choices.filter((choice) => word.length >= 2 && (choice.startsWith(word) || word.startsWith(choice)))
  if (affixed.length === 1) return affixed[0]
  return closest(word, choices)
}
