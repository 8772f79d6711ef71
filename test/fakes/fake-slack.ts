/** The test suite's fake Slack is the sandbox's local Slack: one implementation (app/sandbox/local-slack.ts). */
export * from '../../app/sandbox/local-slack';
export { LocalSlack as FakeSlack } from '../../app/sandbox/local-slack';
