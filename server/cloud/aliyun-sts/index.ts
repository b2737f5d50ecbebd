/**
 * SCAFFOLD — replaced by the issue that implements this provider. Until then every request answers 501.
 */
import { createFastify } from '../../http';
import type { CloudProvider } from '../context';

export function aliyunStsProvider(): CloudProvider {
  return {
    name: 'sts',
    async build() {
      const app = createFastify({ name: 'sts' });
      app.all('/*', async (_req, reply) => reply.status(501).send({ error: 'provider sts not implemented yet' }));
      return app;
    },
  };
}
