import {InfraError} from '../../errors.js'
import {CONFIRMATION_EXIT_CODE, confirmChange} from '../../prompts/interaction.js'

/** The typed-name guard every account-changing command shares; a declined or wrong name changes nothing (exit 4). */
export async function typedConfirmation(request: {action: string; expected: string; given?: string; flag: string; yes: boolean; interactive: boolean}): Promise<void> {
  const agreed = await confirmChange({
    action: request.action,
    typeToConfirm: request.expected,
    confirmName: request.given,
    confirmFlag: request.flag,
    yes: request.yes,
    interactive: request.interactive,
  })
  if (!agreed) throw new InfraError(`the name typed is not "${request.expected}": nothing was changed`, `type ${request.expected} exactly to ${request.action}`, 'NOT_CONFIRMED', CONFIRMATION_EXIT_CODE)
}
