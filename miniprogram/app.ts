import { getAppClient } from './services/app';

App({
  onLaunch() {
    // Log in early so the first page's request does not wait for it; failures are retried by the next call.
    getAppClient()
      .login()
      .catch((e: Error) => console.warn('[demo] login failed, will retry on the next request:', e.message));
  },
});
