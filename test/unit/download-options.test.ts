/**
 * AliMediaDownloader numeric options: wrong types, NaN, negative or zero values are refused with INVALID_OPTION (in the
 * constructor and in setConfig) instead of being silently defaulted or used.
 */
import { AliMediaDownloader, createInjectedAdapter } from '../../sdk/src';

const adapter = createInjectedAdapter({ name: 'test' });

describe('AliMediaDownloader options', () => {
  it.each([
    ['chunkSize -1', { chunkSize: -1 }],
    ['chunkSize 0', { chunkSize: 0 }],
    ['chunkSize "2MB" (a string)', { chunkSize: '2MB' }],
    ['chunkSize 1.5', { chunkSize: 1.5 }],
    ['parallel 0', { parallel: 0 }],
    ['timeoutMs -1', { timeoutMs: -1 }],
    ['timeoutMs Infinity', { timeoutMs: Infinity }],
    ['retryCount NaN', { retryCount: NaN }],
    ['retryCount -1', { retryCount: -1 }],
    ['retryDelayMs -10', { retryDelayMs: -10 }],
    ['storageQuota "200MB"', { storageQuota: '200MB' }],
  ])('%s → INVALID_OPTION (constructor and setConfig)', (_name, bad) => {
    expect(() => new AliMediaDownloader({ adapter, ...bad } as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    const d = new AliMediaDownloader({ adapter });
    expect(() => d.setConfig(bad as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(d.getConfig()).toMatchObject({ chunkSize: 2 * 1024 * 1024, parallel: 3, retryCount: 3 }); // unchanged
  });

  it('valid values are taken; parallel above 6 is capped; retryCount and retryDelayMs 0 are allowed', () => {
    const d = new AliMediaDownloader({ adapter, chunkSize: 65536, parallel: 9, timeoutMs: 60000, retryCount: 0, retryDelayMs: 0, storageQuota: 100 });
    expect(d.getConfig()).toMatchObject({ chunkSize: 65536, parallel: 6, timeoutMs: 60000, retryCount: 0, retryDelayMs: 0, storageQuota: 100 });
    expect(() => new AliMediaDownloader(null as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });
});
