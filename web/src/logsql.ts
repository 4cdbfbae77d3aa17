// Helpers for editing LogsQL query text.

const filterRe = (field: string) =>
  new RegExp(`(^|\\s)${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:=("(?:[^"\\\\]|\\\\.)*")`, 'g');

/** The value of the first `field:="value"` filter in q, or "". */
export function getExactFilter(q: string, field: string): string {
  const m = filterRe(field).exec(q);
  if (!m) return '';
  try {
    return JSON.parse(m[2]) as string;
  } catch {
    return '';
  }
}

/** q without any `field:="…"` filter; "*" when nothing is left. */
export function removeExactFilter(q: string, field: string): string {
  const out = q.replace(filterRe(field), ' ').replace(/\s+/g, ' ').trim();
  return out === '' ? '*' : out;
}

/** q with `field:="value"` set (replacing an existing one), or removed when value is "". */
export function setExactFilter(q: string, field: string, value: string): string {
  const rest = removeExactFilter(q, field);
  if (value === '') return rest;
  const f = `${field}:=${JSON.stringify(value)}`;
  // With pipes, the filter belongs before the first one.
  const pipe = findTopLevelPipe(rest);
  let head = (pipe >= 0 ? rest.slice(0, pipe) : rest).trim();
  const tail = pipe >= 0 ? ' ' + rest.slice(pipe).trim() : '';
  if (head === '' || head === '*') head = f;
  else if (/\sor\s/i.test(head)) head = `(${head}) ${f}`;
  else head = `${head} ${f}`;
  return head + tail;
}

function findTopLevelPipe(q: string): number {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return i;
  }
  return -1;
}

export type Level = 'error' | 'warn' | 'info' | 'debug' | 'other';

export function levelClass(level: string | undefined): Level {
  const l = (level ?? '').toLowerCase();
  if (!l) return 'other';
  if (/^(err|error|fatal|panic|crit|critical|alert|emerg|emergency|severe|e)$/.test(l)) return 'error';
  if (/^(warn|warning|w)$/.test(l)) return 'warn';
  if (/^(info|information|informational|notice|i)$/.test(l)) return 'info';
  if (/^(debug|trace|verbose|d|t)$/.test(l)) return 'debug';
  return 'other';
}
