/**
 * Bytes → a crypto-js WordArray (for hashing binary data). Its own module so that importing ./bytes does not pull
 * crypto-js/lib-typedarrays into bundles that never hash binary data (the upload entry).
 */
import WordArray from 'crypto-js/lib-typedarrays';

export function toWordArray(b: Uint8Array): WordArray {
  return (WordArray.create as unknown as (u: Uint8Array) => WordArray)(b);
}
