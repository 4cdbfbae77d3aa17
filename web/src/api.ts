// HTTP client for the vigil API (docs/api.md).

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Session {
  user: string;
  csrf: string;
}

let csrf = '';
let onUnauthorized: () => void = () => {};

export function setCsrf(token: string) {
  csrf = token;
}

export function setUnauthorizedHandler(fn: () => void) {
  onUnauthorized = fn;
}

export type Params = Record<string, string | number | undefined>;

export function withParams(path: string, params?: Params): string {
  if (!params) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

interface RequestOpts {
  method?: string;
  params?: Params;
  body?: unknown;
  signal?: AbortSignal;
  /** Do not treat 401 as "session expired" (the login form itself). */
  allow401?: boolean;
}

async function errorMessage(res: Response): Promise<string> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    /* ignore */
  }
  if (text) {
    try {
      const j = JSON.parse(text);
      if (j && typeof j === 'object') {
        const m = j.error ?? j.message ?? j.msg;
        if (typeof m === 'string' && m) return m;
      }
    } catch {
      /* not JSON */
    }
    const t = text.trim();
    if (t) return t.length > 300 ? t.slice(0, 300) + '…' : t;
  }
  return `${res.status} ${res.statusText || 'request failed'}`;
}

export async function request(path: string, opts: RequestOpts = {}): Promise<Response> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(withParams(path, opts.params), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The server is not reachable.');
  }
  if (res.status === 401 && !opts.allow401) {
    onUnauthorized();
    throw new ApiError(401, 'Not signed in.');
  }
  if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
  return res;
}

export async function getJSON<T>(path: string, params?: Params, signal?: AbortSignal): Promise<T> {
  const res = await request(path, { params, signal });
  return (await res.json()) as T;
}

export async function sendJSON<T>(method: string, path: string, body?: unknown): Promise<T | null> {
  const res = await request(path, { method, body });
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? (JSON.parse(text) as T) : null;
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

export function errText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

// ---- auth ----

export async function login(username: string, password: string): Promise<Session> {
  const res = await request('/api/auth/login', {
    method: 'POST',
    body: { username, password },
    allow401: true,
  });
  const s = (await res.json()) as Session;
  setCsrf(s.csrf ?? '');
  return s;
}

/** The current session, or null when not signed in. */
export async function me(): Promise<Session | null> {
  const res = await request('/api/auth/me', { allow401: true }).catch((e) => {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  });
  if (!res) return null;
  const s = (await res.json()) as Session;
  setCsrf(s.csrf ?? '');
  return s;
}

export async function logout(): Promise<void> {
  try {
    await request('/api/auth/logout', { method: 'POST', allow401: true });
  } finally {
    setCsrf('');
  }
}

// ---- inventory ----

export interface Node {
  name: string;
  source?: string[];
  labels?: Record<string, string>;
  ready?: boolean;
  lastSeen?: string;
  cpuCores?: number;
  memoryBytes?: number;
  zone?: string;
}

export const listNodes = (signal?: AbortSignal) => getJSON<Node[] | null>('/api/nodes', undefined, signal).then((n) => n ?? []);

export const getNode = (name: string, signal?: AbortSignal) =>
  getJSON<Node>(`/api/nodes/${encodeURIComponent(name)}`, undefined, signal);

// ---- tokens ----

export interface Token {
  id: string;
  name: string;
  kind?: string;
  createdAt?: string;
  created?: string;
  lastUsed?: string;
  lastUsedAt?: string;
}

export interface NewToken {
  id: string;
  name: string;
  token: string;
  kind?: string;
}

export const listTokens = () => getJSON<Token[] | null>('/api/tokens').then((t) => t ?? []);
export const createToken = (name: string, kind: string) =>
  sendJSON<NewToken>('POST', '/api/tokens', { name, kind });
export const deleteToken = (id: string) => sendJSON<null>('DELETE', `/api/tokens/${encodeURIComponent(id)}`);

// ---- metrics (Prometheus API) ----

export interface PromSample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

interface PromEnvelope {
  status: 'success' | 'error';
  data?: { resultType: string; result: PromSample[] | unknown };
  error?: string;
  errorType?: string;
}

async function prom(path: string, params: Params, signal?: AbortSignal): Promise<PromSample[]> {
  const env = await getJSON<PromEnvelope>(path, params, signal);
  if (env.status !== 'success') throw new ApiError(200, env.error ?? 'query failed');
  const r = env.data?.result;
  if (!Array.isArray(r)) return [];
  return r as PromSample[];
}

export const promQuery = (query: string, signal?: AbortSignal) => prom('/api/v1/query', { query }, signal);

export const promRange = (query: string, start: number, end: number, step: number, signal?: AbortSignal) =>
  prom('/api/v1/query_range', { query, start, end, step }, signal);

/** Instant vector query → value by the given label. */
export async function promByLabel(query: string, label: string, signal?: AbortSignal): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of await promQuery(query, signal)) {
    const key = s.metric[label];
    const v = s.value ? parseFloat(s.value[1]) : NaN;
    if (key !== undefined && Number.isFinite(v)) out.set(key, v);
  }
  return out;
}

// ---- logs (LogsQL API) ----

export interface LogRecord {
  _time?: string;
  _msg?: string;
  _stream?: string;
  namespace?: string;
  pod?: string;
  container?: string;
  node?: string;
  stream?: string;
  level?: string;
  [field: string]: string | undefined;
}

/** Parses a JSON-lines body; lines that are not JSON objects are skipped. */
export function parseJSONLines<T>(text: string): T[] {
  const out: T[] = [];
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l) continue;
    try {
      const v = JSON.parse(l);
      if (v && typeof v === 'object') out.push(v as T);
    } catch {
      /* skip */
    }
  }
  return out;
}

export async function logsQuery(
  query: string,
  start: number,
  end: number,
  limit: number,
  signal?: AbortSignal,
): Promise<LogRecord[]> {
  const res = await request('/select/logsql/query', { params: { query, limit, start, end }, signal });
  const rows = parseJSONLines<LogRecord>(await res.text());
  // Newest first, whatever order the lines arrived in.
  const t = (r: LogRecord) => (r._time ? Date.parse(r._time) : 0);
  rows.sort((a, b) => t(b) - t(a));
  return rows;
}

export interface FieldValue {
  value: string;
  hits?: number;
}

export async function logsFieldValues(
  field: string,
  query: string,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<FieldValue[]> {
  const body = await getJSON<unknown>('/select/logsql/field_values', { field, query, start, end, limit: 1000 }, signal);
  const list = Array.isArray(body) ? body : (body as { values?: unknown })?.values;
  if (!Array.isArray(list)) return [];
  const out: FieldValue[] = [];
  for (const v of list) {
    if (typeof v === 'string') out.push({ value: v });
    else if (v && typeof v === 'object' && typeof (v as FieldValue).value === 'string') out.push(v as FieldValue);
  }
  return out.filter((v) => v.value !== '').sort((a, b) => a.value.localeCompare(b.value));
}

/** Total number of log lines matching query in [start, end]. */
export async function logsCount(query: string, start: number, end: number, signal?: AbortSignal): Promise<number> {
  const step = Math.max(1, end - start);
  const body = await getJSON<{ hits?: { total?: number; values?: number[] }[] }>(
    '/select/logsql/hits',
    { query, start, end, step: `${step}s` },
    signal,
  );
  let n = 0;
  for (const h of body?.hits ?? []) {
    if (typeof h.total === 'number') n += h.total;
    else for (const v of h.values ?? []) n += Number(v) || 0;
  }
  return n;
}

export interface HitsSeries {
  timestamps: number[];
  values: number[];
}

function toUnix(t: unknown): number {
  if (typeof t === 'number') return t > 1e12 ? t / 1000 : t;
  if (typeof t === 'string') return Date.parse(t) / 1000;
  return NaN;
}

/** Log lines per step-sized bucket in [start, end], all streams summed. */
export async function logsHits(
  query: string,
  start: number,
  end: number,
  step: number,
  signal?: AbortSignal,
): Promise<HitsSeries> {
  const body = await getJSON<{ hits?: { timestamps?: unknown[]; values?: unknown[] }[] }>(
    '/select/logsql/hits',
    { query, start, end, step: `${step}s` },
    signal,
  );
  const sum = new Map<number, number>();
  for (const h of body?.hits ?? []) {
    const ts = h.timestamps ?? [];
    const vs = h.values ?? [];
    for (let i = 0; i < ts.length; i++) {
      const t = toUnix(ts[i]);
      if (!Number.isFinite(t)) continue;
      sum.set(t, (sum.get(t) ?? 0) + (Number(vs[i]) || 0));
    }
  }
  const timestamps = [...sum.keys()].sort((a, b) => a - b);
  return { timestamps, values: timestamps.map((t) => sum.get(t)!) };
}

// ---- node processes ----

export interface NodeProcess {
  pid: number;
  command: string;
  args?: string;
  user: string;
  cpuPercent: number;
  cpuSeconds: number;
  memoryBytes: number;
  memoryPercent?: number;
  startTime?: string;
  containerId?: string;
  namespace?: string;
  pod?: string;
  container?: string;
}

export interface NodeProcessList {
  node: string;
  time: string;
  collectedAt?: string;
  processes: NodeProcess[];
}

/** The node's top processes at `time` (Unix seconds; default now). */
export const getNodeProcesses = (name: string, params: { time?: number; sort?: 'cpu' | 'memory'; limit?: number }, signal?: AbortSignal) =>
  getJSON<NodeProcessList>(`/api/nodes/${encodeURIComponent(name)}/processes`, params, signal);

/** The session's CSRF token, for requests that send a raw body (file uploads). */
export function csrfToken(): string {
  return csrf;
}

// ---- log patterns ----

export interface LogPattern {
  id: string;
  template: string;
  count: number;
  share: number;
  first_seen: string;
  last_seen: string;
  previous_count: number;
  trend: 'new' | 'rising' | 'falling' | 'steady';
  sample: string;
  /** LogsQL filter selecting this pattern's lines. */
  filter: string;
  /** The request's query narrowed to this pattern, for the log explorer. */
  query: string;
}

export interface PatternResult {
  mode: 'index' | 'scan';
  query: string;
  start: string;
  end: string;
  total: number;
  previous_total: number;
  truncated: boolean;
  scanned?: number;
  patterns: LogPattern[];
}

/** Log templates of `query` between start and end (Unix seconds), with trends against the previous window. */
export const getPatterns = (query: string, start: number, end: number, signal?: AbortSignal) =>
  getJSON<PatternResult>('/api/patterns', { query, start, end }, signal);

// ---- log explorer ----

/** Matching lines per bucket, one series per value of `field` (e.g. level). */
export async function logsHitsBy(
  query: string,
  start: number,
  end: number,
  step: number,
  field: string,
  signal?: AbortSignal,
): Promise<{ value: string; timestamps: number[]; values: number[] }[]> {
  const body = await getJSON<{ hits?: { fields?: Record<string, string>; timestamps?: unknown[]; values?: unknown[] }[] }>(
    '/select/logsql/hits',
    { query, start, end, step: `${step}s`, field, fields_limit: 20 },
    signal,
  );
  return (body?.hits ?? []).map((h) => ({
    value: h.fields?.[field] ?? '',
    timestamps: (h.timestamps ?? []).map(toUnix),
    values: (h.values ?? []).map((v) => Number(v) || 0),
  }));
}

export async function logsFieldNames(query: string, start: number, end: number, signal?: AbortSignal): Promise<FieldValue[]> {
  const body = await getJSON<{ values?: FieldValue[] }>('/select/logsql/field_names', { query, start, end }, signal);
  return (body?.values ?? []).filter((v) => v.value !== '');
}

/** Field values with hit counts, most frequent first. */
export async function logsFacet(field: string, query: string, start: number, end: number, limit: number, signal?: AbortSignal): Promise<FieldValue[]> {
  const body = await getJSON<{ values?: FieldValue[] }>('/select/logsql/field_values', { field, query, start, end, limit }, signal);
  return (body?.values ?? []).filter((v) => v.value !== '').sort((a, b) => (b.hits ?? 0) - (a.hits ?? 0));
}

export const logContext = (params: Params, signal?: AbortSignal) => getJSON<LogRecord[]>('/api/logs/context', params, signal);

export interface SavedView {
  id: number;
  name: string;
  query: string;
  range: string;
  createdBy: string;
  createdAt: string;
}
export const listSavedViews = (signal?: AbortSignal) => getJSON<SavedView[]>('/api/logs/views', undefined, signal);
export const saveView = (v: { name: string; query: string; range: string }) => sendJSON<SavedView>('POST', '/api/logs/views', v);
export const deleteSavedView = (id: number) => sendJSON<null>('DELETE', `/api/logs/views/${id}`);

export interface LogPipelineRules {
  include?: string[];
  exclude?: string[];
  redact?: { namespace?: string; pattern: string }[];
  noBuiltinRedaction?: boolean;
  rateLimit?: number;
  rateBurst?: number;
  namespaceRateLimits?: Record<string, number>;
  /** namespace glob → retention ("2d", "36h"), shorter than the store's own */
  retention?: Record<string, string>;
}
export const getLogRules = () => getJSON<LogPipelineRules>('/api/logs/rules');
export const putLogRules = (r: LogPipelineRules) => sendJSON<LogPipelineRules>('PUT', '/api/logs/rules', r);

/** Up to limit rows as raw JSON lines (for export). */
export async function logsQueryRaw(query: string, start: number, end: number, limit: number, signal?: AbortSignal): Promise<LogRecord[]> {
  const res = await request('/select/logsql/query', { params: { query, limit, start, end }, signal });
  return parseJSONLines<LogRecord>(await res.text());
}

export interface LogRetentionRule {
  namespace: string;
  retention: string;
  seconds: number;
  capped?: boolean;
}
export interface LogStorage {
  bytes: number;
  files: number;
  retention?: {
    default: string;
    defaultSeconds: number;
    rules: LogRetentionRule[];
    lastRun?: string;
    lastError?: string;
    started: number;
    pending: number;
  };
}
export const getLogStorage = (signal?: AbortSignal) => getJSON<LogStorage>('/api/logs/storage', undefined, signal);
