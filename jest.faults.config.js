/**
 * `npm run test:faults`: the fault-injection scenarios in test/faults (PostgreSQL
 * restarted, Kanshi SIGKILLed, Slack and GuardDuty failing, duplicated and
 * reordered events). Same transform, module mapping and database setup as
 * jest.config.js; the files are named *.fault.ts so the normal suite
 * (`**\/*.test.ts` under test/) never runs them. FAULTS_FULL=1 runs the long form.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: base.testEnvironment,
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.fault.ts'],
  transform: base.transform,
  moduleNameMapper: base.moduleNameMapper,
  // The normal global setup, plus a build of dist/ when it is stale (see test/faults/global-setup.ts).
  globalSetup: '<rootDir>/test/faults/global-setup.ts',
  globalTeardown: base.globalTeardown,
  // Each scenario sets its own, longer timeouts; this is the floor.
  testTimeout: 120000,
  maxWorkers: 2,
};
