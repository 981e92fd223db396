import {describe, expect, it} from 'vitest'

import {checkTunnelArguments, parseHostPort, parseLocalPorts} from '../../src/ssm/targets.js'
import {checkReason} from '../../src/ssm/session.js'
import {runCli} from '../support/cli.js'

describe('tunnel arguments', () => {
  it('reads host:port, IPv6 in brackets too, and names what is wrong otherwise', () => {
    expect(parseHostPort('10.1.4.20:8080')).toEqual({host: '10.1.4.20', port: 8080})
    expect(parseHostPort('acme-dev-db.abc.eu-west-1.rds.amazonaws.com:5432')).toEqual({host: 'acme-dev-db.abc.eu-west-1.rds.amazonaws.com', port: 5432})
    expect(parseHostPort('[fd00::1]:443')).toEqual({host: 'fd00::1', port: 443})
    for (const bad of ['10.1.4.20', 'host:0', 'host:70000', ':80', 'a b:80']) expect(() => parseHostPort(bad)).toThrow(/is not host:port/)
  })

  it('takes a bare local port for one tunnel and NAME=PORT for several', () => {
    expect(parseLocalPorts(['15432'], ['db'])).toEqual(new Map([['db', 15432]]))
    expect(parseLocalPorts(['db=15432', 'eks=16443'], ['db', 'eks'])).toEqual(new Map([['db', 15432], ['eks', 16443]]))
    expect(() => parseLocalPorts(['15432'], ['db', 'eks'])).toThrow(/does not say which tunnel/)
    expect(() => parseLocalPorts(['cache=1'], ['db'])).toThrow(/not one of the tunnels/)
    expect(() => parseLocalPorts(['db=http'], ['db'])).toThrow(/is not a port/)
  })

  it('checks names, --to and ports before anything is asked or called', () => {
    expect(() => checkTunnelArguments(['redis'], [], [])).toThrow(/unknown tunnel redis/)
    expect(() => checkTunnelArguments([], [], [])).toThrow(/no tunnel named/)
    expect(() => checkTunnelArguments(['db'], ['nohost'], [])).toThrow(/is not host:port/)
    expect(checkTunnelArguments(['db'], ['10.1.0.5:80'], ['10.1.0.5:80=8080'])).toEqual(new Map([['10.1.0.5:80', 8080]]))
  })

  it('wants a reason StartSession accepts (1 to 256 characters)', () => {
    expect(checkReason('  INC-1  ')).toBe('INC-1')
    expect(() => checkReason('   ')).toThrow(/needs a reason/)
    expect(() => checkReason('x'.repeat(257))).toThrow(/at most 256/)
  })

  it('are usage errors of the command (exit 2), refused before the estate, AWS or the plugin is touched', async () => {
    const env = {INFRA_ESTATE: '/nonexistent/estate.yaml', PATH: '/usr/bin:/bin'}
    const cases: [string[], string, RegExp][] = [
      [['tunnel', 'foo'], 'BAD_ARGUMENT', /unknown tunnel foo/],
      [['tunnel', '--to', 'nohost'], 'BAD_FLAG', /--to nohost is not host:port/],
      [['tunnel', 'db', '--local-port', '99999'], 'BAD_FLAG', /99999 is not a port/],
    ]
    for (const [args, code, message] of cases) {
      const result = await runCli([...args, '--env', 'dev', '--reason', 'r', '--json'], {env})
      expect([result.exitCode, JSON.parse(result.stdout).error.code], args.join(' ')).toEqual([2, code])
      expect(JSON.parse(result.stdout).error.message).toMatch(message)
    }
  })
})
