// The licence gate: every production component of the SBOM carries a licence the allow-list
// (supply-chain/licence-allow-list.json) allows, or is a listed exception with its reason.

/** Splits an SPDX licence expression into tokens: ids, AND, OR, WITH, parentheses. */
function tokens(expression) {
  return expression.replace(/\(/g, ' ( ').replace(/\)/g, ' ) ').trim().split(/\s+/).filter(Boolean)
}

/**
 * Whether an SPDX expression is allowed: `A OR B` when either is, `A AND B` when both are,
 * `A WITH exception` when A is (an exception only adds permissions). AND binds tighter than OR
 * (SPDX specification, annex D). Throws on an expression that does not parse.
 */
export function expressionAllowed(expression, allowed) {
  const list = tokens(expression)
  let position = 0
  const peek = () => list[position]
  const fail = (why) => {
    throw new Error(`"${expression}" is not an SPDX licence expression: ${why}`)
  }
  const primary = () => {
    const token = list[position++]
    if (token === undefined) fail('it ends too early')
    if (token === '(') {
      const inner = or()
      if (list[position++] !== ')') fail('a parenthesis is not closed')
      return inner
    }
    if (['AND', 'OR', 'WITH', ')'].includes(token)) fail(`"${token}" where a licence id belongs`)
    let ok = allowed.has(token)
    if (peek() === 'WITH') {
      position++
      const exception = list[position++]
      if (!exception || ['AND', 'OR', '(', ')'].includes(exception)) fail('WITH names no exception')
      ok = ok || allowed.has(`${token} WITH ${exception}`)
    }
    return ok
  }
  const and = () => {
    let ok = primary()
    while (peek() === 'AND') {
      position++
      ok = primary() && ok
    }
    return ok
  }
  const or = () => {
    let ok = and()
    while (peek() === 'OR') {
      position++
      ok = and() || ok
    }
    return ok
  }
  const result = or()
  if (position !== list.length) fail(`"${list[position]}" is unexpected`)
  return result
}

/** Validates the allow-list file's shape; a one-line error names what is wrong. */
export function parseAllowList(raw, source = 'the licence allow-list') {
  if (!raw || !Array.isArray(raw.allowed) || raw.allowed.some((id) => typeof id !== 'string' || !id)) {
    throw new Error(`${source}: "allowed" must be a list of SPDX licence ids`)
  }
  const exceptions = raw.exceptions ?? []
  for (const [index, exception] of exceptions.entries()) {
    for (const field of ['name', 'licence', 'reason']) {
      if (typeof exception?.[field] !== 'string' || !exception[field].trim()) throw new Error(`${source}: exception ${index + 1} needs a "${field}" (every exception says which package, which licence and why)`)
    }
  }
  return {allowed: new Set(raw.allowed), exceptions}
}

/** The licence a CycloneDX component declares, as one SPDX-like string (undefined when none). */
export function componentLicence(component) {
  const choices = (component.licenses ?? []).map((entry) => entry.expression ?? entry.license?.id ?? entry.license?.name).filter(Boolean)
  if (choices.length === 0) return undefined
  return choices.length === 1 ? choices[0] : choices.map((choice) => `(${choice})`).join(' AND ')
}

const fullName = (component) => (component.group ? `${component.group}/${component.name}` : component.name)

/**
 * Every component whose licence is not allowed (and no exception covers), and every exception
 * that no longer matches a component (so the list does not keep stale permissions).
 */
export function licenceViolations(sbom, allowList) {
  const used = new Set()
  const violations = []
  for (const component of sbom.components ?? []) {
    const name = fullName(component)
    const licence = componentLicence(component)
    const exception = allowList.exceptions.find((candidate) => candidate.name === name && (!candidate.version || candidate.version === component.version) && candidate.licence === licence)
    if (exception) {
      used.add(exception)
      continue
    }
    if (!licence) {
      violations.push({component: `${name}@${component.version}`, licence: null, problem: 'declares no licence'})
      continue
    }
    let allowed
    try {
      // A free-text licence name (not an SPDX id) is allowed only when listed word for word.
      const named = component.licenses.length === 1 && component.licenses[0].license?.name !== undefined
      allowed = named ? allowList.allowed.has(licence) : expressionAllowed(licence, allowList.allowed)
    } catch (error) {
      violations.push({component: `${name}@${component.version}`, licence, problem: error.message})
      continue
    }
    if (!allowed) violations.push({component: `${name}@${component.version}`, licence, problem: 'licence is not on the allow-list'})
  }
  for (const exception of allowList.exceptions) {
    if (!used.has(exception)) violations.push({component: `${exception.name}${exception.version ? `@${exception.version}` : ''}`, licence: exception.licence, problem: 'exception matches no production dependency: remove it'})
  }
  return violations
}
