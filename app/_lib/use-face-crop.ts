'use client';
/**
 * The server's suggested crop for a photo of a faces model (contract/photo-room.ts FACE_CROP_PATH): asked once
 * per photo and model; an answer for a photo or model no longer chosen is dropped. Other models get none (their
 * crop starts centred).
 */
import { useEffect, useState } from 'react';
import { FACE_CROP_PATH, offersFaceCrop, type FaceCropAnswer } from '../../contract/photo-room';
import type { CropRect } from './photo-crop';

export type FaceCropState =
  | { state: 'asking' }
  /** A face was found: `crop` is where the crop should start. */
  | { state: 'suggested'; crop: CropRect; confidence: number }
  /** The search found nothing it trusts: the crop stays centred. */
  | { state: 'none'; confidence: number }
  | { state: 'failed'; message: string };

export function useFaceCrop(file: Blob | null, model: { id: string; domain?: string } | undefined): FaceCropState | null {
  const [result, setResult] = useState<FaceCropState | null>(null);
  const id = model?.id;
  const offered = !!model && offersFaceCrop(model);
  useEffect(() => {
    setResult(null);
    if (!file || !id || !offered) return;
    let alive = true;
    setResult({ state: 'asking' });
    fetch(`${FACE_CROP_PATH}?${new URLSearchParams({ model: id })}`, { method: 'POST', body: file })
      .then((res) => res.json() as Promise<FaceCropAnswer>)
      .then((a) => {
        if (!alive) return;
        if (!a.ok) setResult({ state: 'failed', message: a.error.message });
        else setResult(a.confident ? { state: 'suggested', crop: a.crop, confidence: a.confidence } : { state: 'none', confidence: a.confidence });
      })
      .catch(() => alive && setResult({ state: 'failed', message: 'the photo could not be sent for a suggested crop' }));
    return () => {
      alive = false;
    };
  }, [file, id, offered]);
  return result;
}
