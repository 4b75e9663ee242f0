import {
  type Currency,
  clampAmount,
  type Device,
  hashSeed,
  type MerchantProfile,
  makeCardNumber,
  makeDevice,
  makeIp,
  PROFILES,
  priceOf,
  Rng,
} from "../src/simulate/population.ts";

/**
 * The benchmark's traffic: a day of one merchant's purchases, generated lazily (a million
 * transactions held at once would dwarf the monitor being measured). Deterministic per seed.
 *
 * - Activity is heavy-tailed: customers' weights follow a Pareto law (most buy once or twice a
 *   day, a few hundred times), sampled by a binary search over the cumulative weights.
 * - Cards are shared by few devices: a customer holds 1-3 cards and uses them from 1-3 devices;
 *   a fifth of purchases come through carrier NAT addresses, each shared by a hundred customers.
 * - About 1.5% of transactions belong to fraud patterns the default ruleset is built to catch:
 *   card testing, account takeover, device card cycling, structuring, new-customer high value
 *   and amount spikes.
 */
export type BenchTransaction = Record<string, unknown>;

interface Customer {
  id: string;
  profile: MerchantProfile;
  cards: string[];
  devices: Device[];
  ip: string;
  typicalAmount: number;
}

/** Pareto tail index and cap: the busiest customers pay a few hundred times in the day. */
const ACTIVITY_ALPHA = 1.5;
const ACTIVITY_CAP = 150;
/** One carrier NAT address per hundred customers: busy, and under the per-IP limits. */
const CUSTOMERS_PER_NAT_ADDRESS = 100;
const NAT_SHARE = 0.2;

type Pattern = (w: Workload) => Omit<BenchTransaction, "transactionId" | "occurredAt">[];

export class Workload {
  readonly rng: Rng;
  private readonly customers: Customer[];
  private readonly cumulative: Float64Array;
  private readonly nat: string[];
  /** Transactions of a pattern in progress, handed out before new ones are drawn. */
  private queued: Omit<BenchTransaction, "transactionId" | "occurredAt">[] = [];
  private produced = 0;
  private freshCustomers = 0;

  constructor(
    customers: number,
    readonly merchantId: string,
    /** Transaction ids are `${idPrefix}-${n}`: a run's ids never collide with another's. */
    private readonly idPrefix: string,
    seed = 7,
  ) {
    this.rng = new Rng(hashSeed(seed, "bench-workload"));
    this.customers = Array.from({ length: customers }, (_, i) =>
      this.makeCustomer(`c${i}`, this.rng.chance(0.7) ? "JPY" : "BRL"),
    );
    this.cumulative = new Float64Array(customers);
    let sum = 0;
    for (let i = 0; i < customers; i++) {
      sum += Math.min(ACTIVITY_CAP, (1 - this.rng.next()) ** (-1 / ACTIVITY_ALPHA));
      this.cumulative[i] = sum;
    }
    this.nat = Array.from(
      { length: Math.max(10, Math.round(customers / CUSTOMERS_PER_NAT_ADDRESS)) },
      (_, i) => `2001:db8:ca:${(i >> 8).toString(16)}::${(i & 0xff).toString(16)}`,
    );
  }

  /** The next transaction, stamped with the event time it is given. */
  next(eventTime: number): BenchTransaction {
    if (this.queued.length === 0) this.queued = this.draw();
    const body = this.queued.shift()!;
    return {
      transactionId: `${this.idPrefix}-${this.produced++}`,
      occurredAt: new Date(eventTime).toISOString(),
      ...body,
    };
  }

  private draw(): Omit<BenchTransaction, "transactionId" | "occurredAt">[] {
    const r = this.rng.next();
    let edge = 0;
    for (const [pattern, share] of PATTERNS) {
      edge += share;
      if (r < edge) return pattern(this);
    }
    const customer = this.pickCustomer();
    return [this.purchase(customer, { amount: this.usualAmount(customer) })];
  }

  pickCustomer(): Customer {
    const total = this.cumulative[this.cumulative.length - 1]!;
    const target = this.rng.next() * total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! <= target) lo = mid + 1;
      else hi = mid;
    }
    return this.customers[lo]!;
  }

  freshCustomer(): Customer {
    return this.makeCustomer(`n${this.freshCustomers++}`, "JPY");
  }

  makeCustomer(id: string, currency: Currency): Customer {
    const rng = this.rng;
    const profile = PROFILES[currency];
    return {
      id,
      profile,
      cards: Array.from({ length: rng.weighted(CARD_COUNTS) }, () =>
        makeCardNumber(rng, rng.pick(profile.bins)),
      ),
      devices: Array.from({ length: rng.weighted(DEVICE_COUNTS) }, () => makeDevice(rng)),
      // Home addresses are IPv6, one per customer: sharing comes from the carrier NAT pool.
      ip: makeIp(rng, 1),
      typicalAmount: clampAmount(profile, rng.logNormal(profile.medianAmount, 0.7)),
    };
  }

  usualAmount(customer: Customer): number {
    const { profile } = customer;
    const raw = this.rng.logNormal(customer.typicalAmount, 0.5);
    return priceOf(profile, Math.min(profile.maxAmount, Math.max(profile.minAmount, raw)));
  }

  purchase(
    customer: Customer,
    p: { amount: number; card?: string; device?: Device; ip?: string; country?: string },
  ): Omit<BenchTransaction, "transactionId" | "occurredAt"> {
    const rng = this.rng;
    const device = p.device ?? rng.pick(customer.devices);
    const home = customer.profile.homeCountry;
    return {
      merchantId: this.merchantId,
      customerId: customer.id,
      amount: p.amount,
      currency: customer.profile.currency,
      paymentMethod: { type: "card", card: { number: p.card ?? rng.pick(customer.cards) } },
      channel: device.channel,
      ipAddress: p.ip ?? (rng.chance(NAT_SHARE) ? rng.pick(this.nat) : customer.ip),
      deviceId: device.id,
      country: p.country ?? home,
      shippingCountry: home,
      mcc: customer.profile.mcc,
    };
  }
}

const CARD_COUNTS = [
  [1, 0.7],
  [2, 0.25],
  [3, 0.05],
] as const;
const DEVICE_COUNTS = [
  [1, 0.55],
  [2, 0.35],
  [3, 0.1],
] as const;

const range = (w: Workload, lo: number, hi: number) => Math.round(lo + (hi - lo) * w.rng.next());

/** Each pattern with the share of draws that start it; the rest are ordinary purchases. */
const PATTERNS: readonly (readonly [Pattern, number])[] = [
  // A stolen card checked with a burst of tiny charges from one device.
  [
    (w) => {
      const fraudster = w.freshCustomer();
      const card = fraudster.cards[0]!;
      return Array.from({ length: range(w, 6, 12) }, () =>
        w.purchase(fraudster, { amount: range(w, 10, 300), card, device: fraudster.devices[0]! }),
      );
    },
    0.0008,
  ],
  // Account takeover: a known customer pays big from abroad, on a device never seen.
  [
    (w) => {
      const victim = w.pickCustomer();
      // Stands in for the attacker's device and address.
      const abroad = w.freshCustomer();
      return [
        w.purchase(victim, { amount: w.usualAmount(victim) }),
        w.purchase(victim, {
          amount: range(w, 150_000, 400_000),
          device: abroad.devices[0]!,
          ip: abroad.ip,
          country: "US",
        }),
      ];
    },
    0.001,
  ],
  // One device going through a list of cards.
  [
    (w) => {
      const fraudster = w.freshCustomer();
      const device = fraudster.devices[0]!;
      return Array.from({ length: range(w, 5, 8) }, () => {
        const mule = w.freshCustomer();
        return w.purchase(mule, { amount: w.usualAmount(mule), device, ip: fraudster.ip });
      });
    },
    0.0005,
  ],
  // Structuring: a large sum split into payments just under the reporting threshold.
  [
    (w) => {
      const customer = w.pickCustomer();
      const threshold = customer.profile.structuringThreshold;
      return Array.from({ length: range(w, 3, 4) }, () =>
        w.purchase(customer, { amount: range(w, threshold * 0.91, threshold * 0.99) }),
      );
    },
    0.0003,
  ],
  // A brand-new account and card going straight for an expensive item.
  [
    (w) => {
      const newcomer = w.freshCustomer();
      return [w.purchase(newcomer, { amount: range(w, 200_000, 480_000) })];
    },
    0.001,
  ],
  // A known customer suddenly paying many times their usual amount.
  [
    (w) => {
      const customer = w.pickCustomer();
      return [w.purchase(customer, { amount: Math.min(480_000, w.usualAmount(customer) * 12) })];
    },
    0.002,
  ],
];
