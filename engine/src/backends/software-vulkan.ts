/**
 * The private software Vulkan driver that scripts/software-vulkan.sh unpacks (Mesa lavapipe from
 * bookworm-backports). The dynamic linker reads LD_LIBRARY_PATH only when a process starts, so the driver
 * is usable by child processes started with this environment, never by the process that asks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SOFTWARE_VULKAN_DIR = fileURLToPath(new URL('../../../.cache/software-vulkan', import.meta.url));

/** Environment additions for a child process to find the driver, or undefined when it is not installed. */
export function softwareVulkanEnv(dir = process.env.STABLEDRAG_SOFTWARE_VULKAN ?? SOFTWARE_VULKAN_DIR): Record<string, string> | undefined {
  if (!existsSync(`${dir}/ready`) || !existsSync(`${dir}/icd.json`)) return undefined;
  const lib = readFileSync(`${dir}/libdir`, 'utf8').trim();
  return {
    VK_ICD_FILENAMES: `${dir}/icd.json`,
    LD_LIBRARY_PATH: [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
  };
}
