import { DAY, EPOCH_2024, EPOCH_2024_02, epochSql, type RowContext, type SyntheticDataset } from './dataset.ts';
import { intBetweenSql, uniformSql } from './random.ts';

export const ORDER_STATUSES = ['LABEL_CREATED', 'PICKED_UP', 'IN_TRANSIT', 'OUT_FOR_DELIVERY', 'DELIVERED'] as const;
export const CARRIERS = ['UPS', 'FedEx', 'DHL', 'USPS', 'OnTrac'] as const;
export const LOCATIONS = [
  'ATL', 'BOS', 'CHI', 'DAL', 'DEN', 'DTW', 'HOU', 'LAS', 'LAX', 'MEM',
  'MIA', 'MSP', 'NYC', 'PHL', 'PHX', 'PDX', 'SEA', 'SFO', 'SLC', 'STL',
] as const;

/**
 * Seed 002's shipment tracking: one row per tracking number, re-sent as its status moves on.
 *
 * - tracking_num   VARCHAR        the key: 'TRK' + 12 digits of the id (sorts like the id)
 * - order_id       VARCHAR        'ORD' + 10 digits; every fifth order ships in two parcels
 * - customer_id    BIGINT         1..1,000,000, fixed per order
 * - status         VARCHAR        LABEL_CREATED → PICKED_UP → IN_TRANSIT → OUT_FOR_DELIVERY → DELIVERED,
 *                                 one or more steps further in each batch; ~2% EXCEPTION, ~1% RETURNED
 * - carrier        VARCHAR        UPS, FedEx, DHL, USPS, OnTrac (fixed per parcel)
 * - origin         VARCHAR        one of 20 city codes
 * - destination    VARCHAR        another one
 * - shipped_at     TIMESTAMPTZ    2024-01-01 .. 2024-01-25, fixed per parcel
 * - delivered_at   TIMESTAMPTZ    shipped_at + 1 h .. 4 days when DELIVERED, else NULL
 * - updated_at     TIMESTAMPTZ    initial load: in January 2024; batch b: on day b-1 of February 2024
 *                                 (named like seed 002's files and the `orders` pipeline's orderBy in lakelet.yml)
 * - amount         DECIMAL(10,2)  5.00 .. 500.00, fixed per order
 */
export const orders: SyntheticDataset = {
  name: 'orders',
  description:
    'shipment tracking (seed 002): tracking_num, order_id, customer_id, status, carrier, origin, destination, shipped_at, delivered_at, updated_at, amount',
  key: 'tracking_num',
  orderBy: 'updated_at',
  columns: ['tracking_num', 'order_id', 'customer_id', 'status', 'carrier', 'origin', 'destination', 'shipped_at', 'delivered_at', 'updated_at', 'amount'],
  select(ctx: RowContext): string[] {
    const { seed, id, op } = ctx;
    const b = String(ctx.batch);
    const orderNo = `((CAST(${id} AS BIGINT) - 1) * 4 // 5 + 1)`;
    const fixed = (salt: string) => uniformSql(seed, salt, id);
    const perBatch = (salt: string) => uniformSql(seed, salt, id, b);
    const stage0 = `floor(${fixed('stage')} * 5)`;
    // Initial rows: their own stage; new rows of a batch: just created; re-sent rows: further along.
    const stage =
      ctx.batch === 0
        ? stage0
        : `CASE WHEN ${op} = 'I' THEN floor(${fixed('stage')} * 2) ELSE least(4, ${stage0} + ${ctx.batch} + floor(${perBatch('advance')} * 2)) END`;
    const statusList = `[${ORDER_STATUSES.map((s) => `'${s}'`).join(', ')}]`;
    const exceptional = ctx.batch === 0 ? '' : `WHEN ${op} <> 'I' AND ${perBatch('exception')} < 0.02 THEN 'EXCEPTION' WHEN ${op} <> 'I' AND ${stage} = 4 AND ${perBatch('returned')} < 0.0102 THEN 'RETURNED' `;
    const byStage = `${statusList}[1 + CAST(${stage} AS BIGINT)]`;
    const status = exceptional ? `CASE ${exceptional}ELSE ${byStage} END` : byStage;
    const shippedSeconds = `${EPOCH_2024} + floor(${fixed('shipped')} * ${25 * DAY})`;
    const transitSeconds = `(3600 + floor(${fixed('transit')} * ${4 * DAY - 3600}))`;
    const delivered = `CASE WHEN (${status}) = 'DELIVERED' THEN ${epochSql(`${shippedSeconds} + ${transitSeconds}`)} ELSE NULL END`;
    const modified =
      ctx.batch === 0
        ? epochSql(`${shippedSeconds} + floor(${transitSeconds} * (${stage} + 1) / 5)`)
        : epochSql(`${EPOCH_2024_02 + (ctx.batch - 1) * DAY} + floor(${perBatch('modified')} * ${DAY})`);
    const locations = `[${LOCATIONS.map((l) => `'${l}'`).join(', ')}]`;
    const origin = `CAST(${intBetweenSql(0, LOCATIONS.length - 1, seed, 'origin', id)} AS BIGINT)`;
    const destination = `(${origin} + 1 + CAST(${intBetweenSql(0, LOCATIONS.length - 2, seed, 'destination', id)} AS BIGINT)) % ${LOCATIONS.length}`;
    const carriers = `[${CARRIERS.map((c) => `'${c}'`).join(', ')}]`;
    return [
      `'TRK' || lpad(CAST(${id} AS VARCHAR), 12, '0') AS tracking_num`,
      `'ORD' || lpad(CAST(${orderNo} AS VARCHAR), 10, '0') AS order_id`,
      `${intBetweenSql(1, 1_000_000, seed, 'customer', orderNo)} AS customer_id`,
      `${status} AS status`,
      `${carriers}[1 + ${intBetweenSql(0, CARRIERS.length - 1, seed, 'carrier', id)}] AS carrier`,
      `${locations}[1 + ${origin}] AS origin`,
      `${locations}[1 + ${destination}] AS destination`,
      `${epochSql(shippedSeconds)} AS shipped_at`,
      `${delivered} AS delivered_at`,
      `${modified} AS updated_at`,
      `CAST(round(5 + 495 * ${uniformSql(seed, 'amount', orderNo)}, 2) AS DECIMAL(10,2)) AS amount`,
    ];
  },
};
