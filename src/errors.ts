/**
 * An error the operator can act on: one line saying what is wrong and how to fix it.
 * Commands print these without a stack trace; anything else is a bug and keeps its stack.
 */
export class InfraError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
    readonly code = 'INFRA_ERROR',
    readonly exitCode = 1,
    /** Structured detail for --json output (findings, plans); null when there is none. */
    readonly details: unknown = null,
  ) {
    super(message)
    this.name = 'InfraError'
  }

  oneLine(): string {
    return this.fix ? `${this.message}: ${this.fix}` : this.message
  }
}

export function isInfraError(error: unknown): error is InfraError {
  return error instanceof InfraError
}
