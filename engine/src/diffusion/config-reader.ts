/**
 * Reads a diffusers config.json field by field. config.json is user input: every value the engine uses is
 * checked for type and bounds, and every option that changes the maths in a way the engine does not
 * implement is refused by name, so a model the engine cannot run fails at load time with the reason instead
 * of producing wrong images.
 */
import { ModelLoadError } from '../errors.js';

export type JsonObject = Record<string, unknown>;

export class ConfigReader {
  constructor(
    private readonly config: JsonObject,
    /** Where the config came from, for messages ("unet/config.json"). */
    readonly source: string,
  ) {}

  static parse(text: string, source: string): ConfigReader {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new ModelLoadError(`${source} is not valid JSON: ${(err as Error).message}`);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ModelLoadError(`${source} is not a JSON object`);
    return new ConfigReader(value as JsonObject, source);
  }

  /** An error about the config as a whole (a relation between fields). */
  error(message: string): ModelLoadError {
    return new ModelLoadError(`${this.source}: ${message}`);
  }

  private fail(key: string, what: string): never {
    throw new ModelLoadError(`${this.source}: '${key}' ${what}`);
  }

  private value(key: string, fallback: unknown): unknown {
    const v = this.config[key];
    return v === undefined || v === null ? fallback : v;
  }

  int(key: string, min: number, max: number, fallback?: number): number {
    const v = this.value(key, fallback);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(key, `must be an integer in [${min}, ${max}] (got ${JSON.stringify(v)})`);
    }
    return v;
  }

  number(key: string, min: number, max: number, fallback?: number): number {
    const v = this.value(key, fallback);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(key, `must be a number in [${min}, ${max}] (got ${JSON.stringify(v)})`);
    }
    return v;
  }

  bool(key: string, fallback?: boolean): boolean {
    const v = this.value(key, fallback);
    if (typeof v !== 'boolean') this.fail(key, `must be true or false (got ${JSON.stringify(v)})`);
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const v = this.value(key, fallback);
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      this.fail(key, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${JSON.stringify(v)})`);
    }
    return v as T;
  }

  intList(key: string, minLength: number, maxLength: number, min: number, max: number): number[] {
    const v = this.value(key, undefined);
    if (!Array.isArray(v) || v.length < minLength || v.length > maxLength || !v.every((x) => Number.isInteger(x) && x >= min && x <= max)) {
      this.fail(key, `must be a list of ${minLength}-${maxLength} integers in [${min}, ${max}] (got ${JSON.stringify(v)})`);
    }
    return v as number[];
  }

  /** An integer, or a list of integers of the given length (diffusers accepts both for per-block values). */
  intPerBlock(key: string, blocks: number, min: number, max: number, fallback?: number): number[] {
    const v = this.value(key, fallback);
    if (Array.isArray(v)) return this.intList(key, blocks, blocks, min, max);
    return new Array<number>(blocks).fill(this.int(key, min, max, fallback));
  }

  stringList<T extends string>(key: string, minLength: number, maxLength: number, allowed: readonly T[], why: string): T[] {
    const v = this.value(key, undefined);
    if (!Array.isArray(v) || v.length < minLength || v.length > maxLength || !v.every((x) => typeof x === 'string')) {
      this.fail(key, `must be a list of ${minLength}-${maxLength} block type names (got ${JSON.stringify(v)})`);
    }
    const bad = (v as string[]).find((x) => !allowed.includes(x as T));
    if (bad !== undefined) this.fail(key, `has block type ${JSON.stringify(bad)}: ${why}; supported: ${allowed.join(', ')}`);
    return v as T[];
  }

  /**
   * Options whose only supported value is the one SD 1.x uses. Absent counts as the default; the reason says
   * what a different value would mean ("SD 2.x's linear projections").
   */
  requireDefaults(defaults: Record<string, { value: unknown; reason: string }>): void {
    for (const [key, { value, reason }] of Object.entries(defaults)) {
      const v = this.config[key];
      if (v === undefined || JSON.stringify(v) === JSON.stringify(value)) continue;
      this.fail(key, `= ${JSON.stringify(v)} is not supported (${reason}); the engine runs ${JSON.stringify(value)}`);
    }
  }
}
