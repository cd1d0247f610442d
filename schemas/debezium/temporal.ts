/**
 * The canonical temporal texts our connectors produce (PostgreSQL's ISO output in UTC, MariaDB's date
 * strings) read into the numbers Debezium's time types carry: days, microseconds since midnight or the
 * epoch, and ISO-8601 text in UTC for the zoned types. Null when the text is not a value Debezium's type
 * can hold (`infinity`, BC dates): the caller reports it with the column.
 */

const DATE = /^(\d{4,})-(\d{2})-(\d{2})$/;
const TIME = /^(-?)(\d{2,3}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const TIMESTAMP = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const OFFSET = /([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?$|Z$/;

const MICROS_PER_SECOND = 1_000_000n;
const MICROS_PER_DAY = 86_400n * MICROS_PER_SECOND;

function epochDay(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return Math.round(date.getTime() / 86_400_000);
}

/** Microseconds of a fraction text (`5` → 500000, `123456789` → 123456, truncated past micros). */
function fractionMicros(fraction: string | undefined): bigint {
  if (fraction === undefined) return 0n;
  return BigInt(fraction.padEnd(6, '0').slice(0, 6));
}

/** `2024-02-29` → days since 1970-01-01 (io.debezium.time.Date). */
export function dateDays(text: string): number | null {
  const m = DATE.exec(text);
  if (!m) return null;
  return epochDay(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** `12:34:56.789` → microseconds since midnight (io.debezium.time.MicroTime); MariaDB's `-838:59:59` too. */
export function timeMicros(text: string): bigint | null {
  const m = TIME.exec(text);
  if (!m) return null;
  const seconds = BigInt(Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]));
  const micros = seconds * MICROS_PER_SECOND + fractionMicros(m[5]);
  return m[1] === '-' ? -micros : micros;
}

/** `2024-01-02 03:04:05.123456` (no zone) → microseconds since the epoch (io.debezium.time.MicroTimestamp). */
export function timestampMicros(text: string): bigint | null {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const days = BigInt(epochDay(Number(m[1]), Number(m[2]), Number(m[3])));
  const seconds = BigInt(Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]));
  return days * MICROS_PER_DAY + seconds * MICROS_PER_SECOND + fractionMicros(m[7]);
}

/** Seconds east of UTC of a trailing offset (`+02`, `-05:30`, `Z`), and the text before it. */
function splitOffset(text: string): { local: string; seconds: number } | null {
  const m = OFFSET.exec(text);
  if (!m) return null;
  const local = text.slice(0, m.index);
  if (m[0] === 'Z') return { local, seconds: 0 };
  const seconds = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  return { local, seconds: m[1] === '-' ? -seconds : seconds };
}

/** Microseconds as `.ffffff` with trailing zeros dropped (none when whole), as java.time prints fractions. */
function fractionText(micros: bigint): string {
  if (micros === 0n) return '';
  return `.${micros.toString().padStart(6, '0').replace(/0+$/, '')}`;
}

/** `2024-01-02 03:04:05.5+02` → `2024-01-02T01:04:05.5Z` (io.debezium.time.ZonedTimestamp, in UTC). */
export function zonedTimestampText(text: string): string | null {
  const split = splitOffset(text);
  if (!split) return null;
  const local = timestampMicros(split.local);
  if (local === null) return null;
  const utc = local - BigInt(split.seconds) * MICROS_PER_SECOND;
  const millis = utc / 1000n - (utc % 1000n < 0n ? 1n : 0n);
  const iso = new Date(Number(millis)).toISOString();
  const micros = ((utc % MICROS_PER_SECOND) + MICROS_PER_SECOND) % MICROS_PER_SECOND;
  return `${iso.slice(0, 19)}${fractionText(micros)}Z`;
}

/** `03:04:05+02` → `01:04:05Z` (io.debezium.time.ZonedTime, in UTC). */
export function zonedTimeText(text: string): string | null {
  const split = splitOffset(text);
  if (!split) return null;
  const local = timeMicros(split.local);
  if (local === null) return null;
  const utc =
    (((local - BigInt(split.seconds) * MICROS_PER_SECOND) % MICROS_PER_DAY) + MICROS_PER_DAY) %
    MICROS_PER_DAY;
  const seconds = Number(utc / MICROS_PER_SECOND);
  const hms = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60]
    .map((part) => String(part).padStart(2, '0'))
    .join(':');
  return `${hms}${fractionText(utc % MICROS_PER_SECOND)}Z`;
}
