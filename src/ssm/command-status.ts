/**
 * The remote command's exit status, read from what the plugin prints.
 *
 * AWS's session-manager-plugin exits 0 whatever the remote command returned
 * (aws/session-manager-plugin issue 59). With AWS-StartNonInteractiveCommand and
 * separateOutputStream=true the SSM Agent (3.1.1511.0 and later) sends, once the command has
 * exited, an ExitCode payload "EXIT_CODE: n" with no newline (amazon-ssm-agent
 * agent/session/shell/shell.go, sendExitCode); the plugin prints every payload to its stdout
 * (sessionutil_unix.go DisplayMessage) and, when the channel closes,
 * "\n\nExiting session with sessionId: ID.\n\n" (datachannel/streaming.go). Its first line is
 * "\nStarting session with SessionId: ID\n" (session/session.go).
 *
 * This filter relays the plugin's stdout as it comes, minus those two banners and the EXIT_CODE
 * payload, holding back only the few bytes that could still turn out to be the ending.
 */
export class CommandOutputFilter {
  private pending = ''
  private started = false
  private readonly banner: string
  private readonly ending: string
  private status: number | undefined

  constructor(
    sessionId: string,
    private readonly write: (bytes: Buffer) => void,
  ) {
    this.banner = `\nStarting session with SessionId: ${sessionId}\n`
    this.ending = `\n\nExiting session with sessionId: ${sessionId}.\n\n`
  }

  push(chunk: Buffer): void {
    // latin1 keeps bytes one to one, so a UTF-8 character split across chunks passes intact.
    this.pending += chunk.toString('latin1')
    if (!this.started) {
      if (this.pending.length < this.banner.length && this.banner.startsWith(this.pending)) return
      if (this.pending.startsWith(this.banner)) this.pending = this.pending.slice(this.banner.length)
      this.started = true
    }
    const hold = this.holdFrom()
    this.emit(this.pending.slice(0, hold))
    this.pending = this.pending.slice(hold)
  }

  /** Called once the plugin's stdout has closed: the status the agent reported, if it did. */
  end(): number | undefined {
    if (!this.started && this.banner.startsWith(this.pending)) this.pending = ''
    const match = new RegExp(`(?:EXIT_CODE: (-?\\d+))?${escape(this.ending)}$`).exec(this.pending)
    if (match) {
      this.emit(this.pending.slice(0, match.index))
      if (match[1] !== undefined) this.status = Number(match[1])
    } else {
      this.emit(this.pending)
    }
    this.pending = ''
    return this.status
  }

  private emit(text: string): void {
    if (text) this.write(Buffer.from(text, 'latin1'))
  }

  /** The earliest index from which the pending text could still be the ending. */
  private holdFrom(): number {
    const longest = 'EXIT_CODE: -2147483648'.length + this.ending.length
    for (let i = Math.max(0, this.pending.length - longest); i < this.pending.length; i++) {
      if (this.couldBeEnding(this.pending.slice(i))) return i
    }
    return this.pending.length
  }

  private couldBeEnding(text: string): boolean {
    if (this.ending.startsWith(text)) return true
    const marker = 'EXIT_CODE: '
    if (marker.startsWith(text)) return true
    if (!text.startsWith(marker)) return false
    const rest = /^-?\d*/.exec(text.slice(marker.length))![0]
    const after = text.slice(marker.length + rest.length)
    return after === '' || (/\d/.test(rest) && this.ending.startsWith(after))
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The agent's status as a process exit code: -1 (the command was killed by a signal) becomes 1. */
export function exitCodeOf(status: number): number {
  return status >= 0 && status <= 255 ? status : 1
}
