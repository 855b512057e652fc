/**
 * Per-address quotas on creating rooms (room:create needs no link; a fork needs only a watch link) and on seed
 * previews (no link). Each costs a render on the shared workers and rooms cost storage, so without a quota one
 * address could keep the workers to itself or fill the disk.
 * One set of buckets for the whole server (an address's connections share it).
 */
import type { ServerLimits } from '../limits.js';
import { RoomError } from '../rooms/room-service.js';
import { TokenBuckets } from '../token-buckets.js';

export interface AddressQuotas {
  roomCreate: TokenBuckets;
  seedPreview: TokenBuckets;
  faceCrop: TokenBuckets;
}

type QuotaLimits = Pick<ServerLimits, 'roomCreatesPerMinute' | 'roomCreateBurst' | 'seedPreviewsPerMinute' | 'seedPreviewBurst' | 'faceCropsPerMinute' | 'faceCropBurst'>;

export function addressQuotas(limits: QuotaLimits): AddressQuotas {
  return {
    roomCreate: new TokenBuckets({ perSecond: limits.roomCreatesPerMinute / 60, burst: limits.roomCreateBurst }),
    seedPreview: new TokenBuckets({ perSecond: limits.seedPreviewsPerMinute / 60, burst: limits.seedPreviewBurst }),
    faceCrop: new TokenBuckets({ perSecond: limits.faceCropsPerMinute / 60, burst: limits.faceCropBurst }),
  };
}

/** Takes one from the address's bucket, or throws `limit` saying when to try again. */
export function spendQuota(buckets: TokenBuckets, address: string, what: string): void {
  const taken = buckets.take(address);
  if (!taken.ok) throw new RoomError('limit', `too many ${what} from your address; try again in ${taken.retryAfterSeconds} s`, taken.retryAfterSeconds);
}
