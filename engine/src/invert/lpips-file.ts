/**
 * Where LPIPS-VGG16's weights live inside a models directory (`stabledrag import-lpips` writes them there).
 * Apart from lpips.ts so a caller can look for the file without loading tfjs (the studio's main thread).
 */
import path from 'node:path';

export const LPIPS_FILE_NAME = 'lpips-vgg.safetensors';

/** `<modelsDir>/lpips/lpips-vgg.safetensors`. */
export function lpipsPathIn(modelsDir: string): string {
  return path.join(modelsDir, 'lpips', LPIPS_FILE_NAME);
}
