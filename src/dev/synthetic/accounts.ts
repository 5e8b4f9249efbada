import { DAY, EPOCH_2023, EPOCH_2024, epochSql, type RowContext, type SyntheticDataset } from './dataset.ts';
import { uniformSql } from './random.ts';

/**
 * Seed 000's accounts: one row per customer, re-sent with a new credit score, balance and
 * last_modified whenever the account changes.
 *
 * - customer_id      BIGINT          the key (the id)
 * - account_number   VARCHAR         'AC' + 10 digits, fixed per customer, unique (a bijection of the id)
 * - credit_score     INTEGER         300..850, bell-shaped (mean of three uniforms), new in every batch
 * - account_balance  DECIMAL(12,2)   log-uniform 10.00 .. ~316,000.00, new in every batch
 * - last_modified    TIMESTAMPTZ     initial load: during 2023; batch b: on day b-1 of 2024
 */
export const accounts: SyntheticDataset = {
  name: 'accounts',
  description: 'customer accounts (seed 000): customer_id, account_number, credit_score, account_balance, last_modified',
  key: 'customer_id',
  orderBy: 'last_modified',
  columns: ['customer_id', 'account_number', 'credit_score', 'account_balance', 'last_modified'],
  select(ctx: RowContext): string[] {
    const { seed, id } = ctx;
    const b = String(ctx.batch);
    const u = (salt: string) => uniformSql(seed, salt, id, b);
    // 6364136223 is coprime with 10^10, so this is a bijection on ids below 10^10; the offset follows the seed.
    const offset = Number(BigInt.asUintN(32, BigInt(seed) * 2654435761n) % 10_000_000_000n);
    const accountNumber = `'AC' || lpad(CAST((CAST(${id} AS HUGEINT) * 6364136223 + ${offset}) % 10000000000 AS VARCHAR), 10, '0')`;
    const credit = `CAST(300 + round(550 * (${u('credit-1')} + ${u('credit-2')} + ${u('credit-3')}) / 3) AS INTEGER)`;
    const balance = `CAST(round(pow(10, 1 + 4.5 * ${u('balance')}), 2) AS DECIMAL(12,2))`;
    const modified =
      ctx.batch === 0
        ? epochSql(`${EPOCH_2023} + floor(${u('modified')} * ${365 * DAY})`)
        : epochSql(`${EPOCH_2024 + (ctx.batch - 1) * DAY} + floor(${u('modified')} * ${DAY})`);
    return [
      `CAST(${id} AS BIGINT) AS customer_id`,
      `${accountNumber} AS account_number`,
      `${credit} AS credit_score`,
      `${balance} AS account_balance`,
      `${modified} AS last_modified`,
    ];
  },
};
