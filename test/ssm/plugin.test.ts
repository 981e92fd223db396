import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {InfraError} from '../../src/errors.js'
import {PLUGIN_INSTALL_HINT, checkPluginSupports, findPlugin, pluginLaunch, versionNewerThan} from '../../src/ssm/plugin.js'

const STANDIN_BIN = fileURLToPath(new URL('../support/bin', import.meta.url))

describe('the plugin version rule of the AWS CLI', () => {
  // The AWS CLI's own table (tests/unit/customizations/test_sessionmanager.py, test_meets_requirement).
  const published: [string, boolean][] = [
    ['2.0.0.0', true], ['2.1', true], ['2', true], ['1.3.1.1', true], ['\r\n1. 3.1.1', true], ['1.3.1.0', true], ['1.3', true],
    ['1.2.498.1', true], ['1.2.498', true], ['1.2.497.1', true], ['1.2.497.0', false], ['1.2.497', false], ['1.2.1.1', false],
    ['1.2.1', false], ['1.2', false], ['1.1.1.0', false], ['1.1.1', false], ['1.0.497.0', false], ['1.0. 497.0\r\n', false],
    ['1', false], ['0.3.497.0', false],
  ]
  it.each(published)('%j newer than 1.2.497.0: %s', (version, expected) => {
    expect(versionNewerThan(version, '1.2.497.0')).toBe(expected)
  })

  it('treats what it cannot parse as old, so the answer goes in argv as the AWS CLI does', () => {
    for (const version of ['1.1.1.1.1', '1.1.1.a', '1-1.1.1', '1.1.', 'invalid_version']) expect(versionNewerThan(version, '0')).toBe(false)
  })
})

describe('pluginLaunch', () => {
  const handle = {SessionId: 'op-0123456789abcdef0', TokenValue: 'AAEAAf-secret-token', StreamUrl: 'wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/op-0123456789abcdef0?role=publish_subscribe'}
  const request = {Target: 'i-0abc', DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost', Parameters: {host: ['db'], portNumber: ['5432'], localPortNumber: ['15432']}, Reason: 'why'}

  it('keeps the AWS CLI\'s argument order and hides the token from argv for new plugins', () => {
    const launch = pluginLaunch({plugin: {path: '/p', version: '1.2.707.0'}, handle, region: 'eu-west-1', request, endpoint: 'https://ssm.eu-west-1.amazonaws.com', profile: 'ops', baseEnv: {AWS_PROFILE: 'ops'}})
    expect(launch.args).toEqual(['AWS_SSM_START_SESSION_RESPONSE', 'eu-west-1', 'StartSession', 'ops', JSON.stringify(request), 'https://ssm.eu-west-1.amazonaws.com'])
    expect(JSON.parse(launch.env.AWS_SSM_START_SESSION_RESPONSE!)).toEqual(handle)
    expect(launch.args.join(' ')).not.toContain(handle.TokenValue)
    expect(launch.tokenHidden).toBe(true)
    // No assumed role: the plugin uses the same profile the caller gave.
    expect(launch.env.AWS_PROFILE).toBe('ops')
  })

  it('gives the plugin assumed-role credentials and the region, with an empty profile', () => {
    const launch = pluginLaunch({
      plugin: {path: '/p', version: '1.2.707.0'},
      handle,
      region: 'eu-central-1',
      request,
      endpoint: 'https://ssm.eu-central-1.amazonaws.com',
      profile: 'ops',
      credentials: {accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session'},
      baseEnv: {AWS_PROFILE: 'ops', AWS_SESSION_TOKEN: 'stale', PATH: '/bin'},
    })
    expect(launch.args[3]).toBe('')
    expect(launch.env).toMatchObject({AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'session', AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'eu-central-1', PATH: '/bin'})
    expect(launch.env.AWS_PROFILE).toBeUndefined()
  })

  it('passes the answer itself to plugins up to 1.2.497.0', () => {
    const launch = pluginLaunch({plugin: {path: '/p', version: '1.2.497.0'}, handle, region: 'eu-west-1', request, endpoint: 'e'})
    expect(JSON.parse(launch.args[0])).toEqual(handle)
    expect(launch.env.AWS_SSM_START_SESSION_RESPONSE).toBeUndefined()
    expect(launch.tokenHidden).toBe(false)
  })

  it('refuses remote-host forwarding on plugins older than 1.2.285.0', () => {
    expect(() => checkPluginSupports({path: '/p', version: '1.2.279.0'}, 'AWS-StartPortForwardingSessionToRemoteHost')).toThrow(/cannot forward to a remote host/)
    expect(() => checkPluginSupports({path: '/p', version: '1.2.285.0'}, 'AWS-StartPortForwardingSessionToRemoteHost')).not.toThrow()
    expect(() => checkPluginSupports({path: '/p', version: '1.2.279.0'}, 'SSM-SessionManagerRunShell')).not.toThrow()
  })
})

describe('findPlugin', () => {
  it('takes --plugin first, then INFRA_SESSION_MANAGER_PLUGIN, then PATH, and asks its version', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-plugin-'))
    const other = path.join(dir, 'my-plugin')
    writeFileSync(other, '#!/bin/sh\necho 1.2.650.0\n')
    chmodSync(other, 0o755)
    expect(findPlugin(other, {PATH: STANDIN_BIN})).toEqual({path: other, version: '1.2.650.0'})
    expect(findPlugin(undefined, {PATH: STANDIN_BIN, INFRA_SESSION_MANAGER_PLUGIN: other}).path).toBe(other)
    expect(findPlugin(undefined, {PATH: `/nonexistent${path.delimiter}${STANDIN_BIN}`, STANDIN_PLUGIN_VERSION: '1.2.707.0'})).toEqual({path: path.join(STANDIN_BIN, 'session-manager-plugin'), version: '1.2.707.0'})
  })

  it('is one error with the install hint when there is none', () => {
    const missing = (() => {
      try {
        findPlugin(undefined, {PATH: '/nonexistent'})
      } catch (error) {
        return error as InfraError
      }
    })()
    expect(missing).toBeInstanceOf(InfraError)
    expect(missing).toMatchObject({code: 'PLUGIN_NOT_FOUND', fix: PLUGIN_INSTALL_HINT})
    expect(() => findPlugin('/nonexistent/session-manager-plugin', {})).toThrow(/missing or not executable/)
  })
})
