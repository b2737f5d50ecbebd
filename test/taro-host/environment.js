/**
 * Test environment of the `taro` jest project: jest's node environment, plus `process.on('unhandledRejection')`
 * that works inside a test. Jest gives each test file its own `process` object (a copy without the real one's
 * listeners), and jest-circus takes the real process's 'unhandledRejection' for itself while tests run (it fails the
 * running test). Here, during the run, a rejection nobody handled goes to the test's own listeners when it has any
 * (so a test can observe and assert on them), and to jest's handler otherwise (the test fails, as usual).
 */
const { TestEnvironment } = require('jest-environment-node');

class TaroHostEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.jestHandlers = [];
    this.forward = (reason, promise) => {
      const testProcess = this.global.process;
      if (testProcess && testProcess.listenerCount('unhandledRejection') > 0) testProcess.emit('unhandledRejection', reason, promise);
      else for (const h of this.jestHandlers) h(reason, promise);
    };
  }

  async handleTestEvent(event) {
    // jest-circus installs its handlers at run_start (before this runs) and restores the originals at run_finish.
    if (event.name === 'run_start') {
      this.jestHandlers = process.listeners('unhandledRejection');
      process.removeAllListeners('unhandledRejection');
      process.on('unhandledRejection', this.forward);
    } else if (event.name === 'run_finish') {
      // circus has just put back the listeners it found at run_start; ours goes
      process.removeListener('unhandledRejection', this.forward);
      this.jestHandlers = [];
    }
  }

  async teardown() {
    process.removeListener('unhandledRejection', this.forward);
    await super.teardown();
  }
}

module.exports = TaroHostEnvironment;
