const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Whether `day` is a real `YYYY-MM-DD` calendar day of years 0001–9999: the days every store can hold (a SQL
 * `date`, a string that sorts like the date it names).
 */
export function isCalendarDay(day: unknown): day is string {
  if (typeof day !== 'string') return false;
  const m = DAY.exec(day);
  if (m === null) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const date = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || date < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return date <= days;
}
