import {describe, expect, it} from 'vitest'

import {startTracing, tracingConfig} from '../../src/service/tracing.js'

/** How the OpenTelemetry specification's environment variables switch tracing on and where it sends. */
describe('tracing configuration', () => {
  it('is off by default, and off when the SDK is disabled or the exporter is none', async () => {
    expect(tracingConfig(undefined, {})).toBeUndefined()
    expect(await startTracing(undefined, '0.0.0', {})).toBeUndefined()
    expect(tracingConfig('http://collector:4318', {OTEL_SDK_DISABLED: 'true'})).toBeUndefined()
    expect(tracingConfig(undefined, {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none'})).toBeUndefined()
  })

  it('adds /v1/traces to base endpoints and takes the traces endpoint as it is', () => {
    expect(tracingConfig('http://collector:4318', {})?.url).toBe('http://collector:4318/v1/traces')
    expect(tracingConfig('http://collector:4318/v1/traces', {})?.url).toBe('http://collector:4318/v1/traces')
    expect(tracingConfig(undefined, {OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318/'})?.url).toBe('https://collector.example:4318/v1/traces')
    expect(tracingConfig(undefined, {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom'})?.url).toBe('http://b:4318/custom')
    // The flag wins over the environment.
    expect(tracingConfig('http://flag:4318', {OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom'})?.url).toBe('http://flag:4318/v1/traces')
  })

  it('refuses what it cannot honour with exit 2 and the fix', () => {
    const refused = (flag: string | undefined, env: NodeJS.ProcessEnv) => {
      try {
        tracingConfig(flag, env)
      } catch (error) {
        return error as {message: string; fix: string; exitCode: number}
      }
      throw new Error('accepted')
    }
    expect(refused('ftp://collector', {})).toMatchObject({message: '--otlp-endpoint ftp://collector is not an http(s) URL', exitCode: 2})
    expect(refused(undefined, {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'sometimes'}).message).toBe('OTEL_TRACES_SAMPLER=sometimes is not a sampler')
    expect(refused(undefined, {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2'}).message).toBe('OTEL_TRACES_SAMPLER_ARG=2 is not a ratio')
    expect(refused(undefined, {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc'}).fix).toContain('4318')
    expect(refused(undefined, {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'zipkin'}).exitCode).toBe(2)
  })
})
