/**
 * SCAFFOLD — replaced by the issue that implements this provider. Until then every request answers 501.
 */
import { createFastify } from '../../http';
import type { CloudProvider } from '../context';

export function aliyunOssProvider(): CloudProvider {
  return {
    name: 'oss',
    async build() {
      const app = createFastify({ name: 'oss' });
      app.all('/*', async (_req, reply) => reply.status(501).send({ error: 'provider oss not implemented yet' }));
      return app;
    },
  };
}
