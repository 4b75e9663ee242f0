import { luhnValid } from "../transaction/schema.ts";
import type { Channel, PaymentMethodType } from "../transaction/types.ts";

/**
 * mulberry32: a 32-bit PRNG small enough to read at a glance. Math.random cannot be seeded, and
 * a simulation that cannot be repeated cannot be debugged ("same seed, same traffic").
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the parts: derives independent streams (population, traffic) from one seed. */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join("\u0000")) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Rng {
  private readonly source: () => number;
  constructor(seed: number) {
    this.source = mulberry32(seed);
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.source();
  }
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** Picks by weight; weights need not sum to 1. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [value, w] of entries) {
      r -= w;
      if (r < 0) return value;
    }
    return entries[entries.length - 1]![0];
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** Log-normal with the given median: purchase amounts are skewed, not bell-shaped. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
  hex(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += Math.floor(this.next() * 16).toString(16);
    return out;
  }
  digits(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += Math.floor(this.next() * 10).toString();
    return out;
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

export type Currency = "JPY" | "BRL";
export const CURRENCIES: readonly Currency[] = ["JPY", "BRL"];

/** What a merchant's traffic looks like, per currency (a Japanese marketplace, a Brazilian shop). */
export interface MerchantProfile {
  currency: Currency;
  homeCountry: string;
  /** The merchant's UTC offset as it appears in occurredAt. Brazil has had no DST since 2019. */
  utcOffset: string;
  offsetMinutes: number;
  /** Log-normal purchase amounts in minor units: the median of customers' typical amounts. */
  medianAmount: number;
  minAmount: number;
  maxAmount: number;
  /** Reporting threshold that structuring stays just under, in minor units. */
  structuringThreshold: number;
  mcc: string;
  /** Test-range BINs (issuer test numbers), so nothing generated is a live card. */
  bins: readonly string[];
  /** How customers prefer to pay; every customer still holds 1-2 cards. */
  methods: readonly (readonly [PaymentMethodType, number])[];
  /** Where account takeovers appear to come from. */
  foreignCountries: readonly string[];
}

export const PROFILES: Readonly<Record<Currency, MerchantProfile>> = {
  JPY: {
    currency: "JPY",
    homeCountry: "JP",
    utcOffset: "+09:00",
    offsetMinutes: 540,
    // ~95% of purchases between ¥1,000 and ¥30,000.
    medianAmount: 5500,
    minAmount: 500,
    maxAmount: 90_000,
    structuringThreshold: 1_000_000,
    mcc: "5399",
    bins: ["411111", "400000", "510510", "555555", "353011"],
    methods: [
      ["card", 0.8],
      ["konbini", 0.1],
      ["wallet", 0.1],
    ],
    foreignCountries: ["US", "CN", "VN", "NG", "RU", "GB"],
  },
  BRL: {
    currency: "BRL",
    homeCountry: "BR",
    utcOffset: "-03:00",
    offsetMinutes: -180,
    // ~95% of purchases between R$20 and R$600.
    medianAmount: 11_000,
    minAmount: 1000,
    maxAmount: 180_000,
    structuringThreshold: 1_000_000,
    mcc: "5311",
    bins: ["411111", "400000", "510510", "555555", "636297"],
    methods: [
      ["card", 0.55],
      ["pix", 0.4],
      ["wallet", 0.05],
    ],
    foreignCountries: ["US", "PY", "NG", "RU", "CN", "PT"],
  },
};

/** Rounds to how prices look: ¥12,800-style tens for JPY, R$49,90-style for BRL. */
export function priceOf(profile: MerchantProfile, amount: number): number {
  if (profile.currency === "JPY") return Math.max(10, Math.round(amount / 10) * 10);
  return Math.max(90, Math.round(amount / 100) * 100 - 10);
}

export function clampAmount(profile: MerchantProfile, amount: number): number {
  return Math.min(profile.maxAmount, Math.max(profile.minAmount, amount));
}

/** The Luhn check digit that makes `partial` + digit pass the check. */
export function luhnCheckDigit(partial: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(`${partial}${d}`)) return String(d);
  throw new Error(`no Luhn digit for ${partial}`); // unreachable: one digit always fits
}

/** A 16-digit card number with a test-range BIN and a correct Luhn digit. */
export function makeCardNumber(rng: Rng, bin: string): string {
  const partial = bin + rng.digits(15 - bin.length);
  return partial + luhnCheckDigit(partial);
}

/**
 * Documentation ranges only (RFC 5737 / RFC 3849), so simulated traffic never names a real host.
 * 192.0.2.0/24 is left out: the default ruleset block-lists it as test traffic, and a normal
 * customer landing there would be blocked for the address, not for what they did.
 */
const IPV4_DOC_RANGES = ["203.0.113", "198.51.100"] as const;

/**
 * Mostly IPv6: two IPv4 /24s are so few addresses that at 1000 tx/min unrelated customers would
 * pile up behind each one and look like a card farm to the per-IP rules.
 */
export function makeIp(rng: Rng, ipv6Share = 0.85): string {
  if (rng.chance(ipv6Share)) {
    const group = () => rng.int(0, 0xffff).toString(16);
    return `2001:db8:${group()}:${group()}::${rng.int(1, 0xfffe).toString(16)}`;
  }
  return `${rng.pick(IPV4_DOC_RANGES)}.${rng.int(1, 254)}`;
}

export interface Device {
  id: string;
  channel: Channel;
}

export function makeDevice(rng: Rng): Device {
  return {
    id: `dev-${rng.hex(12)}`,
    channel: rng.weighted([
      ["app", 0.55],
      ["web", 0.45],
    ] as const),
  };
}

export interface Customer {
  id: string;
  country: string;
  /** Card numbers; the first is the one used most. */
  cards: string[];
  devices: Device[];
  ip: string;
  /** This customer's usual purchase size (minor units); purchases scatter around it. */
  typicalAmount: number;
  preferredMethod: PaymentMethodType;
  /** How many purchases this customer makes in one run (activity skew). */
  purchases: number;
}

/**
 * Most customers buy once or twice per run; a few are very active. Capped at 4: a run squeezes a
 * customer's purchases into minutes, and a real buyer rarely pays more than 4 times in 10
 * minutes with one card (more is what card testing looks like).
 */
const ACTIVITY: readonly (readonly [readonly [number, number], number])[] = [
  [[1, 1], 0.68],
  [[2, 2], 0.2],
  [[3, 3], 0.08],
  [[4, 4], 0.04],
];

export const MEAN_PURCHASES = ACTIVITY.reduce((s, [[lo, hi], w]) => s + ((lo + hi) / 2) * w, 0);

/** Spread of customers' typical amounts around the merchant median; purchases add their own. */
const BETWEEN_CUSTOMERS_SIGMA = 0.7;
export const WITHIN_CUSTOMER_SIGMA = 0.5;

export function makeCustomer(rng: Rng, profile: MerchantProfile, id: string): Customer {
  const [lo, hi] = rng.weighted(ACTIVITY);
  const cardCount = rng.chance(0.35) ? 2 : 1;
  const deviceCount = rng.chance(0.4) ? 2 : 1;
  return {
    id,
    country: profile.homeCountry,
    cards: Array.from({ length: cardCount }, () => makeCardNumber(rng, rng.pick(profile.bins))),
    devices: Array.from({ length: deviceCount }, () => makeDevice(rng)),
    ip: makeIp(rng),
    typicalAmount: clampAmount(
      profile,
      rng.logNormal(profile.medianAmount, BETWEEN_CUSTOMERS_SIGMA),
    ),
    preferredMethod: rng.weighted(profile.methods),
    purchases: rng.int(lo, hi),
  };
}

export interface PopulationOptions {
  seed: number;
  currency: Currency;
  size: number;
  /**
   * Prefix of customer ids, normally the run id: each run gets customers with no history, so
   * one run's traffic cannot push the next run's customers over velocity limits.
   */
  namespace: string;
}

export interface Population {
  profile: MerchantProfile;
  customers: Customer[];
}

export function customerId(namespace: string, index: number): string {
  return `${namespace}-c${String(index).padStart(5, "0")}`;
}

/** A deterministic population: the same options always give the same customers. */
export function createPopulation(options: PopulationOptions): Population {
  const profile = PROFILES[options.currency];
  const rng = new Rng(hashSeed(options.seed, options.namespace, "population"));
  const customers = Array.from({ length: options.size }, (_, i) =>
    makeCustomer(rng, profile, customerId(options.namespace, i + 1)),
  );
  return { profile, customers };
}
