import {defineConfig} from 'vitest/config'

// Unit tests run in seconds with no services. Integration tests (*.integration.test.ts) run real
// terraform against moto and the built CLI as a child process; `npm run test:integration` runs them alone.
export default defineConfig({
  test: {
    // The pinned SDK supports Node 20; its notice about future releases is noise in test output.
    env: {AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'},
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.integration.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 20 * 60_000,
          hookTimeout: 20 * 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
