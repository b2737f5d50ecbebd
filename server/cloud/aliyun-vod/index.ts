/**
 * SCAFFOLD — replaced by the issue that implements this provider. Until then every request answers 501.
 */
import { createFastify } from '../../http';
import type { CloudProvider } from '../context';

export function aliyunVodProvider(): CloudProvider {
  return {
    name: 'vod',
    async build() {
      const app = createFastify({ name: 'vod' });
      app.all('/*', async (_req, reply) => reply.status(501).send({ error: 'provider vod not implemented yet' }));
      return app;
    },
  };
}
